"""The door, end to end: forged X-Forwarded-For never reaches the logs; big bodies are refused unread."""

import pytest
import requests
import webob
import webtest
from sqlalchemy import select

from polybanking import main
from polybanking.ingress import FORM
from polybanking.models import TransactionLog

from ..conftest import app_settings_for
from ..website import path_of, start_params


@pytest.fixture
def make_app(base_settings, live_server, engine, clean_db):
    """Build an app with setting overrides; a WebTest client whose peer is 127.0.0.1."""
    apps = []

    def make(**overrides):
        application = main({}, **app_settings_for(base_settings, live_server.url, **overrides))
        apps.append(application)
        return webtest.TestApp(application, extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    yield make
    for application in apps:
        application.registry["dbengine"].dispose()


def forwarded_log(testapp, db, config, reference, headers):
    """Start a payment, follow the go link with ``headers``; the address logged as userForwarded."""
    url = testapp.post("/paiements/start/", start_params(config, "550", reference)).json["url"]
    testapp.get(path_of(url), headers=headers)
    query = select(TransactionLog.extra_data).where(TransactionLog.log_type == "userForwarded")
    return db.run(lambda session: session.scalars(query).all())


def test_forged_forwarded_for_is_not_believed_by_default(testapp, make_config, db):
    config = make_config()
    logged = forwarded_log(testapp, db, config, "xff-1", {"X-Forwarded-For": "6.6.6.6"})
    assert logged == ["127.0.0.1"]


def test_trusted_proxy_forwarded_for_is_believed(make_app, make_config, db):
    testapp = make_app(**{"polybanking.trusted_proxies": "127.0.0.1"})
    config = make_config()
    logged = forwarded_log(testapp, db, config, "xff-2", {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert logged == ["198.51.100.7"]  # the client's own "6.6.6.6" is left of nginx's entry


def test_untrusted_peer_is_not_believed_even_when_proxies_are_configured(make_app, make_config, db):
    testapp = make_app(**{"polybanking.trusted_proxies": "10.0.0.1"})
    config = make_config()
    assert forwarded_log(testapp, db, config, "xff-3", {"X-Forwarded-For": "6.6.6.6"}) == ["127.0.0.1"]


def test_oversized_start_is_refused_before_anything_is_stored(make_app, make_config, snapshot):
    testapp = make_app(**{"polybanking.max_body": "2KB"})
    config = make_config()
    before = snapshot()
    answer = testapp.post(
        "/paiements/start/", start_params(config, "550", "big", extra_data="x" * 3000), status=413
    )
    assert answer.json == {"status": "ERROR", "url": ""}  # PROTOCOL §2's answer, even at the door
    assert snapshot() == before
    small = testapp.post("/paiements/start/", start_params(config, "550", "small", extra_data="x" * 100))
    assert small.json["status"] == "OK"


def test_oversized_feedback_is_refused(make_app):
    testapp = make_app(**{"polybanking.max_body": "1KB"})
    answer = testapp.post("/paiements/ipn", {"orderID": "x" * 2000}, status=413)
    assert answer.text == "request body larger than 1024 bytes\n"
    testapp.post("/paiements/return", {"orderID": "x" * 2000}, status=413)


def test_only_the_upload_route_gets_the_upload_limit(make_app):
    testapp = make_app(**{"polybanking.max_body": "8KB", "polybanking.max_upload": "64KB"})
    # The upload route lets 20 KB through the door (the view then asks who sends it).
    assert testapp.post("/admin/reconciliation/new", {"report": "x" * 20000}, status="*").status_int == 403
    testapp.post("/admin/reconciliation/new", {"report": "x" * 70000}, status=413)
    # Every other admin path, the sign-in form included, gets the small form limit.
    for path in ("/admin/login", "/admin/configs/new", "/admin/reports/upload"):
        testapp.post(path, {"password": "x" * 9000}, status=413)


class CountingInput:
    """A request body that records how much of it anyone read."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = b"a=" + b"x" * (max(size, 0) if size and size > 0 else 65536)
        self.read_bytes += len(chunk)
        return chunk

    readline = read


def test_a_32_mb_sign_in_form_is_refused_unread(make_app):
    """An anonymous 32 MB form to /admin/login: 413 at once, not one byte of it read or parsed."""
    testapp = make_app()
    body = CountingInput()
    request = webob.Request.blank("/admin/login", method="POST", content_type=FORM)
    request.environ.update({"CONTENT_LENGTH": str(32 * 1024 * 1024), "wsgi.input": body})
    answer = request.get_response(testapp.app)
    assert answer.status_int == 413
    assert answer.text == f"request body larger than {64 * 1024} bytes\n"
    assert body.read_bytes == 0


def test_real_http_body_over_the_default_limit(live_server, app):
    """Over real HTTP (waitress), a 2 MiB POST answers 413, and the server keeps serving."""
    answer = requests.post(
        f"{live_server.url}/paiements/start/", data=b"a=" + b"x" * (2 * 1024 * 1024), timeout=30
    )
    assert answer.status_code == 413
    assert requests.get(f"{live_server.url}/paiements/ipn", timeout=10).status_code == 405


def _rss() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def test_a_32_mb_sign_in_form_over_http_is_refused_and_memory_stays(live_server, app):
    """Over real HTTP: 8 million form fields (32 MB) to /admin/login get a 413 and are never
    parsed; the server process (this one) does not grow by more than a few buffers."""
    import socket

    host, port = live_server.url.split("//")[1].split(":")
    chunk = b"a=1&" * 16384  # 64 KB
    length = 512 * len(chunk)
    before = _rss()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            b"POST /admin/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (host.encode(), length)
        )
        try:
            for _ in range(512):
                sock.sendall(chunk)
        except OSError:
            pass  # the server may stop reading once it has answered
        answer = b""
        while received := sock.recv(65536):
            answer += received
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert _rss() - before < 24 * 1024 * 1024
