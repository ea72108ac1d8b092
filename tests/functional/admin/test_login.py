"""Signing in and out: the form, the session cookie, failed attempts slowed down and logged."""

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from polybanking.auth import throttle
from polybanking.models import SignInFailure, User

from .conftest import PASSWORD, csrf_token, sign_in


def test_sign_in_sets_a_signed_httponly_samesite_cookie(browser, make_user):
    make_user("alice")
    client = browser()
    page = client.get("/admin/login")
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert 'name="csrf_token"' in page.text
    answer = client.post(
        "/admin/login", {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(page)}
    )
    assert answer.status_int == 303
    assert answer.location.endswith("/admin/")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("polybanking_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "secure" not in cookie.lower()  # testing.ini is not production (see test_admin_settings)
    home = client.get("/admin/")
    assert "alice" in home.text and "What needs attention" in home.text


def test_the_session_is_renewed_at_sign_in(browser, make_user):
    """The anonymous session's CSRF token does not survive sign-in (no session fixation)."""
    make_user("alice")
    client = browser()
    page = client.get("/admin/login")
    before = csrf_token(page)
    client.post("/admin/login", {"username": "alice", "password": PASSWORD, "csrf_token": before})
    assert csrf_token(client.get("/admin/")) != before


def test_wrong_password_and_unknown_user_get_the_same_answer(browser, make_user, db, caplog):
    make_user("alice")
    client = browser()
    with caplog.at_level(logging.WARNING, logger="polybanking"):
        wrong = sign_in(client, "alice", "not the password", status=400)
        unknown = sign_in(client, "mallory", "whatever-password", status=400)
    assert "Wrong username or password" in wrong.text and "Wrong username or password" in unknown.text
    assert client.get("/admin/").status_int == 303  # still anonymous
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(SignInFailure))) == 2
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "failed sign-in for username 'alice'" in messages and "'mallory'" in messages
    assert "not the password" not in messages and "whatever-password" not in messages


def test_repeated_failures_are_slowed_down_then_allowed_again(browser, make_user, db, caplog):
    make_user("alice")
    client = browser()
    for _ in range(5):
        sign_in(client, "alice", "guess", status=400)
    with caplog.at_level(logging.WARNING, logger="polybanking"):
        throttled = sign_in(client, "alice", PASSWORD, status=429)  # even the right password waits
    assert "Too many failed attempts" in throttled.text
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "sign-in throttled for username 'alice'" in caplog.text
    # Another address, same username: still slowed down (the username is what is guessed).
    sign_in(browser(ip="10.0.0.9"), "alice", PASSWORD, status=429)

    # Once the delay has passed, the owner gets in, and the failures are forgotten.
    def age(session):
        for failure in session.scalars(select(SignInFailure)):
            failure.when -= timedelta(seconds=5)

    db.run(age)
    sign_in(client, "alice", PASSWORD, status=303)
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(SignInFailure))) == 0


def test_many_usernames_from_one_address_are_slowed_down(browser, make_user, monkeypatch):
    monkeypatch.setattr(throttle, "IP_LIMIT", 4)  # each try costs an argon2 hash: keep the test short
    make_user("alice")
    client = browser(ip="192.0.2.7")
    for number in range(4):
        sign_in(client, f"user{number}", "guess", status=400)
    sign_in(client, "alice", PASSWORD, status=429)
    sign_in(browser(ip="192.0.2.8"), "alice", PASSWORD, status=303)


def test_a_disabled_account_cannot_sign_in_and_is_signed_out(browser, make_user, db):
    make_user("alice")
    make_user("bob", active=False)
    sign_in(browser(), "bob", status=400)
    client = browser()
    sign_in(client, "alice")
    assert client.get("/admin/").status_int == 200
    db.run(lambda s: s.execute(update(User).where(User.username == "alice").values(is_active=False)))
    assert client.get("/admin/").status_int == 303  # the account is read on every request


def test_a_tampered_cookie_is_anonymous(browser, make_user):
    make_user("alice")
    client = browser()
    sign_in(client, "alice")
    value = client.cookies["polybanking_session"]
    client.set_cookie("polybanking_session", value[:-4] + ("AAAA" if value[-4:] != "AAAA" else "BBBB"))
    assert client.get("/admin/").status_int == 303


def test_sign_out(browser, make_user):
    make_user("alice")
    client = browser()
    sign_in(client, "alice")
    home = client.get("/admin/")
    answer = client.post("/admin/logout", {"csrf_token": csrf_token(home)})
    assert answer.status_int == 303 and answer.location.endswith("/admin/login")
    redirected = client.get("/admin/")
    assert redirected.status_int == 303 and "/admin/login" in redirected.location


def copy_of(browser, client):
    """Another browser holding a copy of ``client``'s session cookie (a stolen or shared cookie)."""
    other = browser(ip="10.9.9.9")
    other.set_cookie("polybanking_session", client.cookies["polybanking_session"])
    return other


def test_sign_out_ends_every_copy_of_the_session(browser, make_user):
    make_user("alice")
    client = browser()
    sign_in(client, "alice")
    elsewhere = browser()
    sign_in(elsewhere, "alice")  # alice's other browser: its own session
    copy = copy_of(browser, client)
    assert copy.get("/admin/").status_int == 200
    client.post("/admin/logout", {"csrf_token": csrf_token(client.get("/admin/"))}, status=303)
    assert copy.get("/admin/").status_int == 303  # the copy is signed out too
    assert elsewhere.get("/admin/").status_int == 200  # signing out here leaves the others alone


def test_sign_out_everywhere_ends_every_session_of_the_user(browser, make_user):
    make_user("alice")
    make_user("bob")
    clients = [browser() for _ in range(3)]
    for client in clients:
        sign_in(client, "alice")
    copy = copy_of(browser, clients[1])
    bob = browser()
    sign_in(bob, "bob")
    home = clients[0].get("/admin/")
    assert "Sign out everywhere" in home.text
    answer = clients[0].post("/admin/logout/everywhere", {"csrf_token": csrf_token(home)}, status=303)
    assert answer.location.endswith("/admin/login")
    for client in [*clients, copy]:
        assert client.get("/admin/").status_int == 303
    assert bob.get("/admin/").status_int == 200
    sign_in(clients[0], "alice")  # and alice can sign in again
    assert clients[0].get("/admin/").status_int == 200


def test_a_password_change_or_disabling_ends_the_users_sessions(admin_as, browser, make_user, db):
    root = admin_as("root", superuser=True)
    alice_id = make_user("alice")
    alice = browser()
    sign_in(alice, "alice")
    copy = copy_of(browser, alice)
    page = root.get(f"/admin/users/{alice_id}/edit")
    form = {"csrf_token": csrf_token(page), "is_active": "on", "password": "a brand new password 42"}
    answer = root.post(f"/admin/users/{alice_id}/edit", form, status=303)
    assert "signed out everywhere" in root.get(answer.location).text
    assert alice.get("/admin/").status_int == 303 and copy.get("/admin/").status_int == 303
    sign_in(alice, "alice", "a brand new password 42")
    copy = copy_of(browser, alice)
    form = {"csrf_token": csrf_token(root.get(f"/admin/users/{alice_id}/edit"))}  # active unticked
    root.post(f"/admin/users/{alice_id}/edit", form, status=303)
    db.run(lambda s: s.execute(update(User).where(User.id == alice_id).values(is_active=True)))
    # Enabled again, the sessions from before stay ended: the account must sign in afresh.
    assert alice.get("/admin/").status_int == 303 and copy.get("/admin/").status_int == 303
    assert root.get("/admin/").status_int == 200


def test_sign_out_without_the_csrf_token_is_refused(browser, make_user):
    make_user("alice")
    client = browser()
    sign_in(client, "alice")
    client.post("/admin/logout", {}, status=400)
    assert client.get("/admin/").status_int == 200


def test_sign_in_without_the_csrf_token_is_refused(browser, make_user):
    make_user("alice")
    client = browser()
    client.get("/admin/login")
    answer = client.post("/admin/login", {"username": "alice", "password": PASSWORD}, status=400)
    assert "Form expired" in answer.text
    assert client.get("/admin/").status_int == 303


def test_after_sign_in_the_visitor_goes_where_they_were_going_on_this_site_only(browser, make_user):
    make_user("alice", superuser=True)
    client = browser()
    redirected = client.get("/admin/users/")
    assert redirected.status_int == 303
    page = client.get(redirected.location)
    token = csrf_token(page)
    answer = client.post(
        "/admin/login",
        {"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/admin/users/"},
    )
    assert answer.location.endswith("/admin/users/")
    other = browser()
    page = other.get("/admin/login")
    for target in ("//evil.example/admin/", "https://evil.example/", "/\\evil.example"):
        answer = other.post(
            "/admin/login",
            {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(page), "next": target},
        )
        assert answer.location.endswith("/admin/") and "evil" not in answer.location
        page = other.get("/admin/")


def test_next_with_control_characters_goes_home(browser, make_user):
    """A CR/LF (or any control character) in ``next`` would split the Location header: home instead."""
    make_user("alice")
    for target in (
        "/admin/users/\r\nSet-Cookie: x=1",
        "/admin/\nx",
        "/admin/\x7f",
        "/admin/\x01x",
        "/admin/é",
    ):
        client = browser()
        page = client.get("/admin/login")
        answer = client.post(
            "/admin/login",
            {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(page), "next": target},
        )
        assert answer.status_int == 303
        assert answer.location.endswith("/admin/") and "Set-Cookie" not in answer.location


def test_parallel_wrong_passwords_are_counted_atomically(browser, make_user, db, engine):
    """16 guesses at once: only the first USERNAME_LIMIT have their password checked, whatever the
    database (PostgreSQL's READ COMMITTED needs the throttle's lock; SQLite's BEGIN IMMEDIATE queues)."""
    make_user("alice")
    clients = [browser(ip=f"10.1.0.{n}") for n in range(16)]
    tokens = [csrf_token(client.get("/admin/login")) for client in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def guess(client, token):
        barrier.wait()
        form = {"username": "alice", "password": "wrong guess", "csrf_token": token}
        answer = client.post("/admin/login", form, status="*")
        statuses.append(answer.status_int)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    checked = statuses.count(400)
    # Five, or one more should a slow machine let the first delay (1 s) pass before the last try.
    assert throttle.USERNAME_LIMIT <= checked <= throttle.USERNAME_LIMIT + 1, statuses
    assert statuses.count(429) == len(clients) - checked
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(SignInFailure))) == checked


def test_security_headers_on_admin_pages(browser, make_user):
    page = browser().get("/admin/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in page.text


def test_junk_sign_in_input_is_a_clear_4xx(browser):
    client = browser()
    page = client.get("/admin/login")
    token = csrf_token(page)
    for username, password in (("\x00", "x"), ("a" * 10000, "x"), ("alice", "p" * 5000)):
        answer = client.post(
            "/admin/login",
            {"username": username, "password": password, "csrf_token": token},
            expect_errors=True,
        )
        assert 400 <= answer.status_int < 500
    answer = client.post(
        "/admin/login",
        b"username=%ff%fe&password=x&csrf_token=" + token.encode(),
        content_type="application/x-www-form-urlencoded",
        expect_errors=True,
    )
    assert answer.status_int == 400


def test_a_session_ends_after_its_maximum_age(browser, make_user, monkeypatch):
    from polybanking import security

    make_user("alice")
    client = browser()
    sign_in(client, "alice")
    assert client.get("/admin/").status_int == 200
    later = security.utcnow() + security.SESSION_MAX_AGE + timedelta(minutes=1)
    monkeypatch.setattr(security, "utcnow", lambda: later)
    assert client.get("/admin/").status_int == 303


def test_cookies_are_secure_when_configured(base_settings, live_server, engine, clean_db, make_user):
    import webtest

    from polybanking import main

    from ...conftest import app_settings_for

    app = main({}, **app_settings_for(base_settings, live_server.url, **{"session.secure": "true"}))
    try:
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": live_server.url.split("://", 1)[1]})
        page = client.get("/admin/login")
        cookie = page.headers["Set-Cookie"]
        assert "; secure" in cookie.lower() and "HttpOnly" in cookie
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.registry["dbengine"].dispose()
