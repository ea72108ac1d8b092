"""Acceptance: every admin route refuses an anonymous visitor, a user of another config and a form
without a valid CSRF token, and nothing changes; a user of config A never reaches config B's data.

The table below must name every admin route (a test checks it against the app), so a new route
cannot be added without being tried here.
"""

import io

import pytest
import webtest
from pyramid.interfaces import IRoutesMapper

from polybanking.models.reconciliation_run import UPLOAD
from polybanking.services.reconcile.runs import reconcile_file

from ...reports import Line, csv_bytes
from .conftest import csrf_token, sign_in


@pytest.fixture
def world(make_config, make_user, make_transaction, receiver, db, settings):
    """Config A (alice allowed), config B (bob allowed), a transaction each, a superuser, and a
    reconciliation run whose result names A's transaction."""
    a = make_config(name="Alpha shop")
    b = make_config(name="Bravo shop")
    alice = make_user("alice", configs=[a.id])
    bob = make_user("bob", configs=[b.id])
    make_user("root", superuser=True)
    ta = make_transaction(a.id, "alpha-ref-1", status="9", logs=("created", "ipnfailled"))
    tb = make_transaction(b.id, "bravo-ref-1", status="9")
    report = csv_bytes([Line(f"polybanking-{ta}")])
    run = db.run(
        lambda session: (
            reconcile_file(
                session, settings, io.BytesIO(report), "world.csv", live=False, actor="root", source=UPLOAD
            ).run.id
        )
    )
    return {
        "a": a,
        "b": b,
        "alice": alice,
        "bob": bob,
        "ta": ta,
        "tb": tb,
        "run": run,
        "report": report,
        "receiver": receiver.url,
    }


def requests_for(w) -> dict[str, list[tuple[str, str, dict]]]:
    """Route name → (method, path, form) tried on config A's objects; forms that would change
    something if they were accepted."""
    a, ta = w["a"].id, w["ta"]
    keys = [("GET", f"/admin/configs/{a}/keys/{k}", {}) for k in ("key_request", "key_ipn", "key_api")]
    keys += [("POST", f"/admin/configs/{a}/keys/{k}", {}) for k in ("key_request", "key_ipn", "key_api")]
    config_form = {
        "name": "Hacked",
        # Loopback only: the control test below really sends the resent IPN there.
        "url_ipn": w["receiver"] + "?changed=1",
        "url_back_ok": "http://127.0.0.1:9/changed/ok",
        "url_back_err": "http://127.0.0.1:9/changed/err",
        "environment": "test",
    }
    return {
        "admin.home": [("GET", "/admin/", {})],
        "admin.config.list": [("GET", "/admin/configs/", {})],
        "admin.config.create": [
            ("GET", "/admin/configs/new", {}),
            ("POST", "/admin/configs/new", config_form),
        ],
        "admin.config.show": [("GET", f"/admin/configs/{a}/", {})],
        "admin.config.edit": [
            ("GET", f"/admin/configs/{a}/edit", {}),
            ("POST", f"/admin/configs/{a}/edit", {**config_form, "name": "Hacked again"}),  # names are unique
        ],
        "admin.config.active": [("POST", f"/admin/configs/{a}/active", {"active": "0"})],
        "admin.config.users": [
            ("GET", f"/admin/configs/{a}/users", {}),
            ("POST", f"/admin/configs/{a}/users", {"user": str(w["bob"])}),
        ],
        "admin.config.log": [("GET", f"/admin/configs/{a}/log", {})],
        "admin.config.key": keys,
        "admin.transaction.list": [("GET", "/admin/transactions/", {})],
        "admin.transaction.show": [("GET", f"/admin/transactions/{ta}/", {})],
        "admin.transaction.resend": [("POST", f"/admin/transactions/{ta}/resend-ipn", {})],
        "admin.transaction.operate": [
            (
                "POST",
                f"/admin/transactions/{ta}/operations",
                {"kind": "refund", "key": "access-test", "amount": "1.00", "confirm": "yes"},
            )
        ],
        "admin.user.list": [("GET", "/admin/users/", {})],
        "admin.user.create": [
            ("GET", "/admin/users/new", {}),
            (
                "POST",
                "/admin/users/new",
                {"username": "eve", "password": "eve-password-123", "is_superuser": "on"},
            ),
        ],
        "admin.user.edit": [
            ("GET", f"/admin/users/{w['bob']}/edit", {}),
            ("POST", f"/admin/users/{w['bob']}/edit", {"is_superuser": "on", "is_active": "on"}),
        ],
        "admin.reconciliation.list": [("GET", "/admin/reconciliation/", {})],
        "admin.reconciliation.upload": [
            ("GET", "/admin/reconciliation/new", {}),
            (
                "POST",
                "/admin/reconciliation/new",
                {"environment": "test", "report": webtest.Upload("again.csv", w["report"], "text/csv")},
            ),
        ],
        "admin.reconciliation.show": [("GET", f"/admin/reconciliation/{w['run']}/", {})],
        "admin.reconciliation.csv": [("GET", f"/admin/reconciliation/{w['run']}/differences.csv", {})],
        "admin.export.form": [("GET", "/admin/exports/", {})],
        "admin.export.download": [
            ("GET", f"/admin/exports/download?config={config}&format=csv&period=this-month", {})
            for config in (a, "all")
        ],
        "admin.summary.show": [("GET", "/admin/summary/?period=this-month&include_test=on", {})],
        "admin.summary.pdf": [("GET", "/admin/summary/summary.pdf?period=this-month&include_test=on", {})],
        "admin.summary.csv": [
            ("GET", "/admin/summary/summary.csv?period=this-month&include_test=on&transactions=list", {})
        ],
        # Public by nature; only their forms' CSRF protection is tried (POST).
        "admin.login": [
            ("POST", "/admin/login", {"username": "root", "password": "correct horse battery staple"})
        ],
        "admin.login.tequila": [("POST", "/admin/login/tequila", {})],
        "admin.logout": [("POST", "/admin/logout", {})],
        # Any signed-in user's own sessions (test_login); here, only its CSRF protection is tried.
        "admin.logout.everywhere": [("POST", "/admin/logout/everywhere", {})],
    }


PUBLIC = {"admin.login", "admin.login.tequila", "admin.logout", "admin.logout.everywhere"}
#: Pages every signed-in user opens, showing only what their configs allow.
SHARED = {
    "admin.home",
    "admin.config.list",
    "admin.transaction.list",
    "admin.export.form",
    "admin.summary.show",
    "admin.summary.pdf",
    "admin.summary.csv",
}


def send(client, method, path, form, token=None):
    data = dict(form)
    if token is not None:
        data["csrf_token"] = token
    if method == "GET":
        return client.get(path, expect_errors=True)
    return client.post(path, data, expect_errors=True)


def test_the_table_names_every_admin_route(app, world):
    names = {route.name for route in app.registry.getUtility(IRoutesMapper).get_routes()}
    assert set(requests_for(world)) == {name for name in names if name.startswith("admin.")}


def test_anonymous_visitors_are_refused_everywhere(browser, world, snapshot, receiver):
    before = snapshot()
    client = browser()
    token = csrf_token(client.get("/admin/login"))  # a valid anonymous token: the refusal is the ACL's
    for name, attempts in requests_for(world).items():
        if name in PUBLIC:
            continue
        for method, path, form in attempts:
            answer = send(client, method, path, form, token)
            if method == "GET":
                assert answer.status_int == 303 and "/admin/login" in answer.location, (name, path)
            else:
                assert answer.status_int == 403, (name, path, answer.status_int)
            assert "alpha-ref-1" not in answer.text and world["a"].key_api not in answer.text
    assert snapshot() == before
    assert receiver.received == []


def test_a_user_of_another_config_is_refused(browser, world, snapshot, receiver):
    client = browser()
    sign_in(client, "bob")
    token = csrf_token(client.get("/admin/"))
    before = snapshot()
    a = world["a"]
    for name, attempts in requests_for(world).items():
        if name in PUBLIC:
            continue
        for method, path, form in attempts:
            answer = send(client, method, path, form, token)
            if name in SHARED:
                assert answer.status_int == 200, (name, path)
            else:
                assert answer.status_int == 403, (name, path, answer.status_int)
            # Bytes, as the summary's PDF is no text (test_summary_page reads the PDF's text).
            for secret in ("Alpha shop", "alpha-ref-1", a.key_api, a.key_ipn, a.key_request):
                assert secret.encode() not in answer.body, (name, path)
    assert snapshot() == before
    assert receiver.received == []


def test_forms_without_a_valid_csrf_token_are_refused(browser, world, snapshot, receiver):
    """Signed in as a superuser, who could do all of it with the token: without it, nothing."""
    client = browser()
    sign_in(client, "root")
    before = snapshot()
    for name, attempts in requests_for(world).items():
        for method, path, form in attempts:
            if method != "POST":
                continue
            for token in (None, "forged-token", ""):
                answer = send(client, method, path, form, token)
                assert answer.status_int == 400, (name, path, token, answer.status_int)
    assert snapshot() == before
    assert receiver.received == []
    assert client.get("/admin/").status_int == 200  # still signed in: logout was refused too


def test_the_same_forms_with_the_token_do_change_things(browser, world, snapshot, receiver):
    """Guards the three tests above: the forms they send are ones the app accepts."""
    client = browser()
    sign_in(client, "root")
    token = csrf_token(client.get("/admin/"))
    for name, attempts in requests_for(world).items():
        if name in PUBLIC:
            continue
        for method, path, form in attempts:
            before = snapshot()
            answer = send(client, method, path, form, token)
            if method == "GET":
                assert answer.status_int == 200, (name, path)
            else:
                assert answer.status_int == 303, (name, path, answer.status_int, answer.text[:500])
                assert snapshot() != before or name == "admin.transaction.resend", (name, path)
    assert len(receiver.received) == 1  # the resent IPN, to the changed URL


def test_a_user_of_config_a_never_finds_config_b_by_guessing(browser, world):
    client = browser()
    sign_in(client, "alice")
    b, tb = world["b"], world["tb"]
    searches = (
        "/admin/transactions/?q=bravo-ref-1",
        f"/admin/transactions/?config={b.id}",
        f"/admin/transactions/?config={b.id}&q=bravo",
    )
    for path in searches:
        page = client.get(path)
        assert "0 transactions." in page.text, path
        assert f"/admin/transactions/{tb}/" not in page.text and "Bravo shop" not in page.text, path
    for path in ("/admin/transactions/?status=9", "/admin/configs/", "/admin/"):
        page = client.get(path)
        assert "bravo-ref-1" not in page.text and "Bravo shop" not in page.text, path
    assert client.get(f"/admin/transactions/{tb}/", expect_errors=True).status_int == 403
    assert client.get(f"/admin/configs/{b.id}/", expect_errors=True).status_int == 403
    for config in (b.id, "all"):
        export = f"/admin/exports/download?config={config}&format=csv&period=this-month"
        assert client.get(export, expect_errors=True).status_int == 403, config
    for path in ("/admin/exports/", "/admin/summary/?include_test=on&transactions=list"):
        page = client.get(path)
        assert "Bravo shop" not in page.text and "bravo-ref-1" not in page.text, path
        assert "Alpha shop" in page.text, path
    # Their own is there.
    assert "alpha-ref-1" in client.get("/admin/transactions/?q=alpha").text


def test_ids_that_are_junk_or_unknown_are_404(browser, world):
    client = browser()
    sign_in(client, "root")
    for path in (
        "/admin/configs/0/",
        "/admin/configs/99999999/",
        "/admin/configs/99999999999999999999/",
        "/admin/configs/-1/",
        "/admin/configs/abc/",
        "/admin/configs/%C2%B2/",
        f"/admin/configs/{world['a'].id}/keys/key_other",
        "/admin/transactions/123456789/",
        "/admin/transactions/x/",
        "/admin/users/4294967296/edit",
        "/admin/reconciliation/0/",
        "/admin/reconciliation/abc/differences.csv",
    ):
        assert client.get(path, expect_errors=True).status_int == 404, path
