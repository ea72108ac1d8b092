"""Signing in with Tequila (auth.backend = tequila) against a local stand-in Tequila server."""

import socket

import pytest
import requests
import webtest
from sqlalchemy import select

from polybanking import main
from polybanking.models import User

from ...conftest import app_settings_for
from ...tequila_server import TequilaServer
from .conftest import csrf_token


@pytest.fixture(scope="module")
def tequila():
    server = TequilaServer().start()
    yield server
    server.stop()


def _app(base_settings, live_server, server_url, **overrides):
    settings = app_settings_for(
        base_settings,
        live_server.url,
        **{
            "auth.backend": "tequila",
            "tequila.server": server_url,
            "tequila.service": "PolyBanking tests",
            "tequila.timeout": "1",
            **overrides,
        },
    )
    return main({}, **settings)


@pytest.fixture(scope="module")
def tequila_apps(base_settings, live_server, engine, tequila):
    apps = {
        "manual": _app(base_settings, live_server, tequila.url),
        "autocreate": _app(base_settings, live_server, tequila.url, **{"tequila.autocreate": "true"}),
    }
    yield apps
    for application in apps.values():
        application.registry["dbengine"].dispose()


@pytest.fixture
def client(tequila_apps, tequila, clean_db, live_server):
    tequila.requests.clear()
    tequila.delay, tequila.fail_fetch = 0.0, False
    tequila.person = {"uniqueid": "123456", "username": "jdoe", "firstname": "Jane", "name": "Doe"}
    host = live_server.url.split("://", 1)[1]

    def make(kind="manual"):
        return webtest.TestApp(
            tequila_apps[kind], extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host}
        )

    return make


def start(browser, next_path=""):
    page = browser.get("/admin/login")
    assert "Sign in with Tequila" in page.text and 'name="password"' not in page.text
    return browser.post(
        "/admin/login/tequila", {"csrf_token": csrf_token(page), "next": next_path}, expect_errors=True
    )


def at_tequila(url: str) -> str:
    """The person signs in at (the stand-in) Tequila, which sends the browser back; returns where."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_an_account_made_beforehand_signs_in_and_is_bound_to_the_tequila_identity(
    client, make_user, db, tequila
):
    make_user("jdoe", password=None)
    browser = client()
    started = start(browser, "/admin/configs/")
    assert started.status_int == 303
    assert started.location.startswith(f"{tequila.url}/cgi-bin/tequila/requestauth?requestkey=")
    name, fields = tequila.requests[0]
    assert name == "createrequest"
    assert fields["urlaccess"].endswith("/admin/login/tequila") and fields["service"] == "PolyBanking tests"
    assert "uniqueid" in fields["request"] and "username" in fields["request"]

    back = browser.get(path_of(at_tequila(started.location)))
    assert back.status_int == 303 and back.location.endswith("/admin/configs/")
    assert [name for name, _ in tequila.requests] == ["createrequest", "fetchattributes"]
    assert "jdoe" in browser.get("/admin/").text
    assert db.run(lambda s: s.scalar(select(User.external_id).where(User.username == "jdoe"))) == "123456"

    # Next time the identity decides, even if the login name changed.
    tequila.person["username"] = "jane.doe"
    other = client()
    other.get(path_of(at_tequila(start(other).location)))
    assert "jdoe" in other.get("/admin/").text


def test_unknown_people_are_refused_unless_autocreate(client, db):
    browser = client()
    back = browser.get(path_of(at_tequila(start(browser).location)), expect_errors=True)
    assert back.status_int == 403 and "no PolyBanking account" in back.text
    assert browser.get("/admin/").status_int == 303
    assert db.run(lambda s: s.scalar(select(User.id))) is None

    browser = client("autocreate")
    browser.get(path_of(at_tequila(start(browser).location)))
    created = db.run(lambda s: s.scalar(select(User).where(User.external_id == "123456")))
    assert created.username == "jdoe" and not created.is_staff and not created.is_superuser
    assert created.password_hash is None
    assert "not allowed on any config" in browser.get("/admin/configs/").text


def test_disabled_accounts_are_refused(client, make_user):
    make_user("jdoe", password=None, external_id="123456", active=False)
    browser = client("autocreate")
    assert browser.get(path_of(at_tequila(start(browser).location)), expect_errors=True).status_int == 403
    assert browser.get("/admin/").status_int == 303


def test_a_key_that_is_not_this_browsers_is_refused(client, make_user):
    """Login CSRF: someone else's Tequila key (or none) never signs this browser in."""
    make_user("jdoe", password=None)
    attacker, victim = client(), client()
    attacker_return = at_tequila(start(attacker).location)
    start(victim)
    answer = victim.get(path_of(attacker_return), expect_errors=True)
    assert answer.status_int == 400 and victim.get("/admin/").status_int == 303
    fresh = client()
    for query in ("", "?key=", "?key=abc", "?key=%00", "?key=" + "a" * 500):
        assert fresh.get("/admin/login/tequila" + query, expect_errors=True).status_int == 400


def test_tequila_refusing_the_key_is_an_error_page(client, make_user, tequila):
    make_user("jdoe", password=None)
    tequila.fail_fetch = True
    browser = client()
    answer = browser.get(path_of(at_tequila(start(browser).location)), expect_errors=True)
    assert answer.status_int == 502 and browser.get("/admin/").status_int == 303


def test_tequila_slow_or_down_is_a_quick_503(client, tequila, base_settings, live_server, engine, clean_db):
    tequila.delay = 3  # longer than tequila.timeout = 1
    answer = start(client())
    assert answer.status_int == 503 and "Tequila cannot be reached" in answer.text
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = _app(base_settings, live_server, f"http://127.0.0.1:{closed_port}")
    try:
        host = live_server.url.split("://", 1)[1]
        answer = start(webtest.TestApp(down, extra_environ={"HTTP_HOST": host}))
        assert answer.status_int == 503
    finally:
        down.registry["dbengine"].dispose()


def test_passwords_are_not_accepted_with_tequila(client, make_user):
    make_user("jdoe")
    browser = client()
    page = browser.get("/admin/login")
    answer = browser.post(
        "/admin/login",
        {"username": "jdoe", "password": "correct horse battery staple", "csrf_token": csrf_token(page)},
        expect_errors=True,
    )
    assert answer.status_int == 400 and browser.get("/admin/").status_int == 303


def test_csp_lets_the_sign_in_form_lead_to_tequila(client, tequila):
    csp = client().get("/admin/login").headers["Content-Security-Policy"]
    assert "form-action 'self' " in csp and tequila.url in csp
