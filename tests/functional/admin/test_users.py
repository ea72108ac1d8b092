"""Admin accounts, managed by superusers only."""

from sqlalchemy import select

from polybanking.models import User

from .conftest import PASSWORD, csrf_token, sign_in


def user(db, username):
    return db.run(lambda s: s.scalar(select(User).where(User.username == username)))


def test_superusers_create_users_who_can_sign_in(admin_as, browser, db):
    root = admin_as("root", superuser=True)
    page = root.get("/admin/users/new")
    answer = root.post(
        "/admin/users/new",
        {
            "username": "treasurer",
            "password": "long enough password",
            "is_staff": "on",
            "csrf_token": csrf_token(page),
        },
    )
    assert answer.status_int == 303
    created = user(db, "treasurer")
    assert created.is_staff and not created.is_superuser and created.password_hash.startswith("$argon2id$")
    assert "long enough password" not in created.password_hash
    assert "treasurer" in root.get("/admin/users/").text
    sign_in(browser(), "treasurer", "long enough password")


def test_create_refuses_bad_input(admin_as, db):
    root = admin_as("root", superuser=True)
    for username, password in (
        ("", "long enough password"),
        ("has space", "long enough password"),
        ("Root", "long enough password"),  # taken, whatever the case
        ("x" * 151, "long enough password"),
        ("newbie", "short"),
        ("newbie", ""),
    ):
        page = root.get("/admin/users/new")
        answer = root.post(
            "/admin/users/new",
            {"username": username, "password": password, "csrf_token": csrf_token(page)},
            status=400,
        )
        assert 'role="alert"' in answer.text
        assert 'value="long enough password"' not in answer.text  # a password is never sent back
    page = root.get("/admin/users/new")
    form = {"username": "nul\x00", "password": "long enough password", "csrf_token": csrf_token(page)}
    root.post("/admin/users/new", form, status=400)
    assert db.run(lambda s: s.scalar(select(User.username).where(User.username != "root"))) is None


def test_edit_rights_password_and_disable(admin_as, make_user, browser, db):
    make_user("uma")
    root = admin_as("root", superuser=True)
    uma = user(db, "uma")
    page = root.get(f"/admin/users/{uma.id}/edit")
    root.post(
        f"/admin/users/{uma.id}/edit",
        {
            "is_staff": "on",
            "is_active": "on",
            "password": "a brand new password",
            "csrf_token": csrf_token(page),
        },
    )
    changed = user(db, "uma")
    assert changed.is_staff and changed.is_active and changed.password_hash != uma.password_hash
    sign_in(browser(), "uma", PASSWORD, status=400)
    client = browser()
    sign_in(client, "uma", "a brand new password")

    page = root.get(f"/admin/users/{uma.id}/edit")
    root.post(f"/admin/users/{uma.id}/edit", {"csrf_token": csrf_token(page)})  # every box unticked
    assert not user(db, "uma").is_active
    assert client.get("/admin/").status_int == 303  # signed out at once


def test_a_refused_edit_changes_nothing(admin_as, make_user, db):
    make_user("uma")
    root = admin_as("root", superuser=True)
    uma = user(db, "uma")
    page = root.get(f"/admin/users/{uma.id}/edit")
    root.post(
        f"/admin/users/{uma.id}/edit",
        {"is_superuser": "on", "is_active": "on", "password": "short", "csrf_token": csrf_token(page)},
        status=400,
    )
    assert not user(db, "uma").is_superuser


def test_superusers_cannot_lock_themselves_out(admin_as, db):
    root = admin_as("root", superuser=True)
    me = user(db, "root")
    page = root.get(f"/admin/users/{me.id}/edit")
    answer = root.post(
        f"/admin/users/{me.id}/edit", {"is_active": "on", "csrf_token": csrf_token(page)}, status=400
    )
    assert "cannot remove your own" in answer.text
    assert user(db, "root").is_superuser


def test_staff_and_users_do_not_see_users(admin_as):
    for name, rights in (("sam", {"staff": True}), ("uma", {})):
        client = admin_as(name, **rights)
        assert "/admin/users/" not in client.get("/admin/").text  # no navigation entry
        assert client.get("/admin/users/", expect_errors=True).status_int == 403
