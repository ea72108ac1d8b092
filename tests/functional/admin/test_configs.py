"""Configs in the admin pages: create, edit, switch on/off, allowed users, keys, and the change log."""

import re
from dataclasses import replace

from sqlalchemy import select

from polybanking.models import Config, ConfigLog

from ...website import start_params
from .conftest import csrf_token

FORM = {
    "name": "Ticket shop",
    "group": "Festival",
    "url_ipn": "https://shop.example.org/ipn",
    "url_back_ok": "https://shop.example.org/ok",
    "url_back_err": "https://shop.example.org/err",
    "max_amount": "500.00",
    "environment": "test",
}


def create(client, **overrides):
    page = client.get("/admin/configs/new")
    return client.post(
        "/admin/configs/new", {**FORM, **overrides, "csrf_token": csrf_token(page)}, expect_errors=True
    )


def config_named(db, name):
    return db.run(lambda s: s.scalar(select(Config).where(Config.name == name)))


def logs_of(db, config_id):
    def read(session):
        entries = session.scalars(
            select(ConfigLog).where(ConfigLog.config_id == config_id).order_by(ConfigLog.id)
        )
        return [(entry.user.username if entry.user else None, entry.text) for entry in entries]

    return db.run(read)


def test_staff_create_a_config_and_are_allowed_on_it(admin_as, db):
    client = admin_as("sam", staff=True)
    answer = create(client)
    assert answer.status_int == 303
    config = config_named(db, "Ticket shop")
    assert answer.location.endswith(f"/admin/configs/{config.id}/")
    assert config.max_amount == 50000 and config.test_mode and config.group == "Festival"
    assert len(config.key_request) == 128 and len({config.key_request, config.key_ipn, config.key_api}) == 3
    page = client.get(answer.location)
    assert "Ticket shop" in page.text and config.key_api in page.text  # the website needs its keys
    assert "sam" in page.text  # allowed users
    assert logs_of(db, config.id) == [("sam", "created (keys generated)")]
    assert "Ticket shop" in client.get("/admin/configs/").text


def test_a_plain_user_cannot_create_configs(admin_as, db):
    client = admin_as("uma")
    assert "New config" not in client.get("/admin/configs/").text
    assert client.get("/admin/configs/new", expect_errors=True).status_int == 403


def test_invalid_forms_are_shown_again_with_the_reasons(admin_as, db):
    client = admin_as("root", superuser=True)
    for field, value in (
        ("name", ""),
        ("name", "x" * 300),
        ("url_ipn", "javascript:alert(1)"),
        ("url_back_ok", "shop.example.org/ok"),
        ("max_amount", "12.345"),
        ("max_amount", "-5"),
        ("max_amount", "abc"),
        ("max_amount", "NaN"),
        ("max_amount", "1e30"),
    ):
        answer = create(client, **{field: value})
        assert answer.status_int == 400, (field, value)
        assert "Some fields need correcting" in answer.text
    assert create(client, name="nul\x00byte").status_int == 400
    assert db.run(lambda s: s.scalar(select(Config.id))) is None


def test_output_is_escaped(admin_as, db):
    client = admin_as("root", superuser=True)
    create(client, name="<script>alert(1)</script>", group='"><img src=x onerror=alert(1)>')
    page = client.get("/admin/configs/")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "<img src=x" not in page.text


def test_edit_is_logged_in_words_and_keys_never_appear_in_the_log(admin_as, make_config, db):
    config = make_config(name="Shop", max_amount=None)
    client = admin_as("alice", configs=[config.id])
    page = client.get(f"/admin/configs/{config.id}/edit")
    form = {
        **FORM,
        "name": "Shop 2",
        "csrf_token": csrf_token(page),
        "url_ipn": "https://new.example.org/ipn",
    }
    assert client.post(f"/admin/configs/{config.id}/edit", form).status_int == 303
    log = client.get(f"/admin/configs/{config.id}/log")
    entries = logs_of(db, config.id)
    assert entries[-1][0] == "alice"
    text = entries[-1][1]
    assert "name: 'Shop' → 'Shop 2'" in text and "'https://new.example.org/ipn'" in text
    assert "maximum amount: none → CHF 500.00" in text
    assert "Shop 2" in log.text and "alice" in log.text

    # Regenerating a key: confirmation first, then a log entry that never holds a key.
    confirm = client.get(f"/admin/configs/{config.id}/keys/key_ipn")
    assert "stops working" in confirm.text and config.key_ipn not in confirm.text
    assert config_named(db, "Shop 2").key_ipn == config.key_ipn  # the GET changed nothing
    client.post(f"/admin/configs/{config.id}/keys/key_ipn", {"csrf_token": csrf_token(confirm)})
    changed = config_named(db, "Shop 2")
    assert changed.key_ipn != config.key_ipn
    assert changed.key_request == config.key_request and changed.key_api == config.key_api  # one at a time
    log = client.get(f"/admin/configs/{config.id}/log").text
    assert "key_ipn regenerated" in log
    for secret in (config.key_ipn, changed.key_ipn, changed.key_request, changed.key_api):
        assert secret not in log
        assert all(secret not in text for _user, text in logs_of(db, config.id))


def test_the_platform_is_chosen_shown_and_its_change_logged(admin_as, make_config, db):
    config = make_config(name="Shop", max_amount=None)
    assert config_named(db, "Shop").platform == "epayment"  # the default
    client = admin_as("alice", configs=[config.id])
    page = client.get(f"/admin/configs/{config.id}/edit")
    assert 'name="platform" value="epayment" checked' in page.text
    form = {**FORM, "name": "Shop", "platform": "checkout", "csrf_token": csrf_token(page)}
    assert client.post(f"/admin/configs/{config.id}/edit", form).status_int == 303
    assert config_named(db, "Shop").platform == "checkout"
    assert "platform: 'epayment' → 'checkout'" in logs_of(db, config.id)[-1][1]
    assert "<dt>Platform</dt><dd>Checkout</dd>" in client.get(f"/admin/configs/{config.id}/").text
    assert "<td>Checkout</td>" in client.get("/admin/configs/").text
    page = client.get(f"/admin/configs/{config.id}/edit")
    refused = client.post(
        f"/admin/configs/{config.id}/edit",
        {**FORM, "platform": "ogone", "csrf_token": csrf_token(page)},
        expect_errors=True,
    )
    assert refused.status_int == 400 and config_named(db, "Shop").platform == "checkout"


def test_the_ipn_body_is_chosen_shown_and_its_change_logged(admin_as, make_config, db):
    config = make_config(name="Shop", max_amount=None)
    client = admin_as("alice", configs=[config.id])  # a member: the website's own choice
    page = client.get(f"/admin/configs/{config.id}/edit")
    assert 'name="ipn_format" value="form" checked' in page.text
    form = {**FORM, "name": "Shop", "ipn_format": "json", "csrf_token": csrf_token(page)}
    assert client.post(f"/admin/configs/{config.id}/edit", form).status_int == 303
    assert config_named(db, "Shop").ipn_format == "json"
    assert (
        "IPN body: form (PROTOCOL §6, as in 2014) → JSON (Standard Webhooks)" in logs_of(db, config.id)[-1][1]
    )
    assert (
        "<dt>IPN body</dt><dd>JSON (Standard Webhooks)</dd>"
        in client.get(f"/admin/configs/{config.id}/").text
    )
    page = client.get(f"/admin/configs/{config.id}/edit")
    assert 'name="ipn_format" value="json" checked' in page.text
    refused = client.post(
        f"/admin/configs/{config.id}/edit",
        {**FORM, "name": "Shop", "ipn_format": "xml", "csrf_token": csrf_token(page)},
        expect_errors=True,
    )
    assert refused.status_int == 400 and "one of form, json" in refused.text
    assert config_named(db, "Shop").ipn_format == "json"


def test_a_regenerated_request_key_is_the_only_one_accepted(admin_as, make_config, testapp, db):
    config = make_config()
    client = admin_as("root", superuser=True)
    confirm = client.get(f"/admin/configs/{config.id}/keys/key_request")
    client.post(f"/admin/configs/{config.id}/keys/key_request", {"csrf_token": csrf_token(confirm)})
    old = testapp.post("/paiements/start/", start_params(config, reference="r1"), expect_errors=True)
    assert old.json["status"] == "KEY_ERROR"
    config.key_request = config_named(db, "Shop").key_request
    assert testapp.post("/paiements/start/", start_params(config, reference="r2")).json["status"] == "OK"


def test_deactivate_and_activate(admin_as, make_config, testapp, db):
    config = make_config()
    client = admin_as("alice", configs=[config.id])
    page = client.get(f"/admin/configs/{config.id}/")
    client.post(f"/admin/configs/{config.id}/active", {"active": "0", "csrf_token": csrf_token(page)})
    assert not config_named(db, "Shop").active
    refused = testapp.post("/paiements/start/", start_params(config), expect_errors=True)
    assert refused.json["status"] == "CONFIG_ERROR"
    page = client.get(f"/admin/configs/{config.id}/")
    assert "Activate" in page.text
    client.post(f"/admin/configs/{config.id}/active", {"active": "1", "csrf_token": csrf_token(page)})
    assert config_named(db, "Shop").active
    assert [text for _u, text in logs_of(db, config.id)] == ["active: yes → no", "active: no → yes"]


def test_only_superusers_manage_allowed_users_and_the_admin_switch(admin_as, make_user, make_config, db):
    config = make_config()
    alice = admin_as("alice", configs=[config.id])
    bob_id = make_user("bob")
    assert "Change allowed users" not in alice.get(f"/admin/configs/{config.id}/").text
    assert alice.get(f"/admin/configs/{config.id}/users", expect_errors=True).status_int == 403
    assert 'name="admin_enable"' not in alice.get(f"/admin/configs/{config.id}/edit").text

    root = admin_as("root", superuser=True)
    page = root.get(f"/admin/configs/{config.id}/users")
    assert "alice" in page.text and "bob" in page.text
    ids = re.findall(r'name="user" value="(\d+)" checked', page.text)
    root.post(
        f"/admin/configs/{config.id}/users",
        {"user": [*ids, str(bob_id), "junk", "99999999999"], "csrf_token": csrf_token(page)},
    )
    assert {u.username for u in db.run(lambda s: s.get(Config, config.id).allowed_users)} == {"alice", "bob"}
    assert logs_of(db, config.id)[-1] == ("root", "allowed: bob")

    edit = root.get(f"/admin/configs/{config.id}/edit")
    form = {**FORM, "csrf_token": csrf_token(edit)}  # admin_enable unticked
    root.post(f"/admin/configs/{config.id}/edit", form)
    assert not config_named(db, "Ticket shop").admin_enable
    # The site's own users may not switch it back on.
    page = alice.get(f"/admin/configs/{config.id}/edit")
    alice.post(
        f"/admin/configs/{config.id}/edit", {**FORM, "admin_enable": "on", "csrf_token": csrf_token(page)}
    )
    assert not config_named(db, "Ticket shop").admin_enable


def test_two_configs_never_get_the_same_name(admin_as, make_config, db):
    taken = make_config(name="Ticket shop")
    other = make_config(name="Bar")
    client = admin_as("root", superuser=True)
    answer = create(client)  # FORM's name is "Ticket shop"
    assert answer.status_int == 400 and f"config {taken.id} already has this name" in answer.text
    page = client.get(f"/admin/configs/{other.id}/edit")
    renamed = client.post(
        f"/admin/configs/{other.id}/edit",
        {**FORM, "csrf_token": csrf_token(page)},
        expect_errors=True,
    )
    assert renamed.status_int == 400 and "already has this name" in renamed.text
    assert config_named(db, "Bar") is not None
    same = client.post(  # saving a config under its own name is no clash
        f"/admin/configs/{taken.id}/edit",
        {**FORM, "csrf_token": csrf_token(client.get(f"/admin/configs/{taken.id}/edit"))},
    )
    assert same.status_int == 303


def test_forms_say_their_rules_in_words(admin_as, make_config, db):
    root = admin_as("root", superuser=True)
    answer = create(root, max_amount="abc")
    assert (
        "in francs (CHF): write it in francs, such as 250 or 99.50; leave it empty for no maximum"
        in answer.text
    )
    assert "not an amount" not in answer.text
    config = make_config(name="Shop")
    shown = root.get(f"/admin/configs/{config.id}/").html
    assert "refuses new payments" in shown.select_one("#h-active").get_text()
    edit = root.get(f"/admin/configs/{config.id}/edit").html
    assert "only a superuser" in shown.select_one("#h-active").get_text()
    assert "cannot switch it back on" in edit.select_one("#h-admin_enable").get_text()
    password = root.get("/admin/users/new").html
    assert "At least 8 characters" in password.select_one("#h-password").get_text()
    assert password.select_one("#f-password")["aria-describedby"] == "h-password"


def test_a_private_ipn_url_is_a_form_error_without_the_allowance(admin_as, app, db, monkeypatch):
    """ipn.allow_private_destinations off (production): the worker would never post there."""
    settings = app.registry.pb_settings
    monkeypatch.setattr(app.registry, "pb_settings", replace(settings, allow_private_destinations=False))
    client = admin_as("root", superuser=True)
    for url in (
        "http://127.0.0.1:6543/admin/",
        "http://169.254.169.254/latest/",
        "http://[::1]/",
        "http://0177.0.0.1/",
    ):
        answer = create(client, url_ipn=url)
        assert answer.status_int == 400, url
        assert "must be a public address" in answer.text
    assert db.run(lambda s: s.scalar(select(Config.id))) is None
    monkeypatch.setattr(app.registry, "pb_settings", settings)  # development and the suite allow it
    assert create(client, url_ipn="http://127.0.0.1:6543/ipn").status_int == 303


def test_only_a_superuser_switches_test_and_live_and_confirms_it(admin_as, make_config, db):
    config = make_config(name="Shop", test_mode=True)
    edit = f"/admin/configs/{config.id}/edit"
    member = admin_as("alice", staff=True, configs=[config.id])
    page = member.get(edit)
    assert "Only a superuser can switch" in page.text
    for extra in ({}, {"confirm_environment": "on"}):  # the disabled button, posted anyway
        form = {**FORM, "name": "Shop", "environment": "live", "csrf_token": csrf_token(page), **extra}
        answer = member.post(edit, form, expect_errors=True)
        assert answer.status_int == 400 and "only a superuser can switch" in answer.text
    assert config_named(db, "Shop").test_mode is True
    # The member's other changes still save, the environment as it was (its buttons send nothing).
    form = {**FORM, "name": "Shop", "group": "Bar", "csrf_token": csrf_token(page)}
    del form["environment"]
    assert member.post(edit, form).status_int == 303
    assert config_named(db, "Shop").test_mode is True and config_named(db, "Shop").group == "Bar"
    assert create(member, name="Live by staff", environment="live").status_int == 400
    assert config_named(db, "Live by staff") is None

    root = admin_as("root", superuser=True)
    page = root.get(edit)
    form = {**FORM, "name": "Shop", "group": "Bar", "environment": "live", "admin_enable": "on"}
    form["csrf_token"] = csrf_token(page)
    answer = root.post(edit, form, expect_errors=True)
    assert answer.status_int == 400 and "tick the confirmation" in answer.text
    assert config_named(db, "Shop").test_mode is True
    assert root.post(edit, {**form, "confirm_environment": "on"}).status_int == 303
    assert config_named(db, "Shop").test_mode is False
    assert logs_of(db, config.id)[-1] == ("root", "environment: test → live")


def test_only_superusers_let_a_website_refund_through_the_api(admin_as, make_config, db):
    config = make_config(name="Ticket shop")
    alice = admin_as("alice", configs=[config.id])
    assert 'name="api_refunds"' not in alice.get(f"/admin/configs/{config.id}/edit").text
    page = alice.get(f"/admin/configs/{config.id}/edit")
    alice.post(
        f"/admin/configs/{config.id}/edit", {**FORM, "api_refunds": "on", "csrf_token": csrf_token(page)}
    )
    assert not config_named(db, "Ticket shop").api_refunds

    root = admin_as("root", superuser=True)
    page = root.get(f"/admin/configs/{config.id}/edit")
    root.post(
        f"/admin/configs/{config.id}/edit",
        {**FORM, "admin_enable": "on", "api_refunds": "on", "csrf_token": csrf_token(page)},
    )
    assert config_named(db, "Ticket shop").api_refunds
    assert logs_of(db, config.id)[-1] == ("root", "refunds through the API: no → yes")
    assert "Refunds through the API</dt><dd>allowed" in root.get(f"/admin/configs/{config.id}/").text
