"""/healthz and /metrics: what they say, who may ask, and that payments pay nothing for them."""

import pytest
import webtest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from polybanking import main
from polybanking.models import IpnAttempt, Transaction
from polybanking.models.meta import utcnow

from ..conftest import app_settings_for
from ..website import start_params


@pytest.fixture
def make_app(base_settings, live_server, engine, clean_db):
    apps = []

    def make(**overrides):
        application = main({}, **app_settings_for(base_settings, live_server.url, **overrides))
        apps.append(application)
        return webtest.TestApp(application, extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    yield make
    for application in apps:
        application.registry["dbengine"].dispose()


def samples(testapp) -> dict[tuple[str, tuple], float]:
    """Every sample of a /metrics scrape: {(name, sorted labels): value}."""
    answer = testapp.get("/metrics")
    assert answer.content_type == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def add_transaction(db, config_id, reference, *, status="9", ipn_needed=False, attempts=(), ipn_failed=False):
    """A committed transaction as the IPN outbox leaves it; ``attempts`` = outcomes for its status."""

    def create(session):
        transaction = Transaction(
            config_id=config_id,
            reference=reference,
            amount=100,
            postfinance_status=status,
            internal_status="fb",
            ipn_needed=ipn_needed,
            ipn_failed=ipn_failed,
            ipn_attempts=len(attempts),
        )
        session.add(transaction)
        for success in attempts:
            session.add(
                IpnAttempt(
                    transaction=transaction,
                    attempted_at=utcnow(),
                    duration_ms=3,
                    postfinance_status=status,
                    success=success,
                    http_status=200 if success else 500,
                )
            )

    db.run(create)


def test_healthz_reports_database_queue_and_ipn_backlog(testapp, make_config, db):
    config = make_config()
    add_transaction(db, config.id, "done", attempts=[False, True])
    add_transaction(db, config.id, "due", ipn_needed=True)  # not tried yet for its status
    add_transaction(db, config.id, "failing", ipn_needed=True, attempts=[False, False])
    add_transaction(
        db, config.id, "given-up", status="2", ipn_needed=True, ipn_failed=True, attempts=[False] * 3
    )
    answer = testapp.get("/healthz")
    assert answer.status_int == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json
    assert body.pop("queue_depth").keys() == {"pending", "scheduled"}  # the shared in-memory queue's
    assert body == {
        "status": "ok",
        "degraded": [],
        "database": "ok",
        "queue": "ok",
        "queue_breaker": "closed",
        "ipn": {"pending": 3, "failing": 2, "given_up": 1},
    }


def test_a_website_refusing_its_ipn_shows_as_failing(testapp, make_config, receiver, db, platform):
    """End to end: a real payment through the platform's sandbox, the website answers 500 (to
    each status on the way), the outbox retries later."""
    receiver.statuses = [500]
    config = make_config(platform=platform.name)
    platform.pay_through(testapp, config, reference="refused-ipn", amount="1250")
    told = len(platform.ipns["pay"])
    receiver.wait_for(told)
    assert testapp.get("/healthz").json["ipn"] == {"pending": 1, "failing": 1, "given_up": 0}
    scrape = samples(testapp)
    assert scrape[("polybanking_ipn_attempts_total", (("outcome", "failure"),))] == told
    assert scrape[("polybanking_ipn_attempts_total", (("outcome", "success"),))] == 0
    assert scrape[("polybanking_ipn_failing", ())] == 1


def test_healthz_503_when_the_database_is_unreachable(make_app, tmp_path):
    testapp = make_app(**{"sqlalchemy.url": f"sqlite:///{tmp_path}/missing/folder/db.sqlite"})
    answer = testapp.get("/healthz", status=503)
    assert answer.json["status"] == "error"
    assert answer.json["degraded"] == ["database"]
    assert answer.json["database"].startswith("OperationalError")
    assert answer.json["queue"] == "ok"
    assert answer.json["ipn"] == {"pending": None, "failing": None, "given_up": None}
    # /metrics still answers, saying the database is down.
    assert samples(testapp)[("polybanking_database_up", ())] == 0


def test_healthz_degraded_when_the_queue_is_unreachable(make_app):
    """Payments go on without the queue (the outbox scan carries the IPNs once it is back): the
    process stays in the load balancer, saying which part is degraded."""
    testapp = make_app(
        **{"huey.backend": "redis", "huey.url": "redis://127.0.0.1:1/0", "huey.immediate": "false"}
    )
    answer = testapp.get("/healthz", status=200)
    assert answer.json["status"] == "degraded"
    assert answer.json["degraded"] == ["queue"]
    assert answer.json["database"] == "ok"
    assert "Connection refused" in answer.json["queue"] or "Error" in answer.json["queue"]
    assert samples(testapp)[("polybanking_queue_up", ())] == 0


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_monitoring_refused_to_other_addresses(testapp, path):
    testapp.get(path, extra_environ={"REMOTE_ADDR": "198.51.100.7"}, status=403)
    # A forged X-Forwarded-For from an allowed peer does not help the outsider either way.
    testapp.get(
        path,
        headers={"X-Forwarded-For": "127.0.0.1"},
        extra_environ={"REMOTE_ADDR": "198.51.100.7"},
        status=403,
    )


def test_monitoring_behind_a_trusted_proxy_is_for_the_real_client(make_app):
    testapp = make_app(**{"polybanking.trusted_proxies": "127.0.0.1"})
    testapp.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}, status=403)
    testapp.get("/metrics")  # the proxy's own host (no forwarded header) may scrape


def test_monitoring_from_setting(make_app):
    testapp = make_app(**{"polybanking.monitoring_from": "10.0.0.0/8"})
    testapp.get("/healthz", status=403)
    testapp.get("/healthz", extra_environ={"REMOTE_ADDR": "10.1.2.3"}, status=200)


def test_metrics_counts_requests_payments_and_ipn_attempts(testapp, make_config, db):
    config = make_config()
    before = samples(testapp)
    key = (
        "polybanking_http_requests_total",
        (("method", "POST"), ("route", "payment.start"), ("status", "200")),
    )
    refused = (
        "polybanking_http_requests_total",
        (("method", "POST"), ("route", "payment.start"), ("status", "400")),
    )
    for n in range(3):
        assert testapp.post("/paiements/start/", start_params(config, "100", f"m-{n}")).json["status"] == "OK"
    testapp.post("/paiements/start/", start_params(config, "100", "m-0"), status=400)
    add_transaction(db, config.id, "paid", attempts=[False, False, True])
    after = samples(testapp)
    assert after[key] - before.get(key, 0) == 3
    assert after[refused] - before.get(refused, 0) == 1
    assert after[("polybanking_payments", (("internal_status", "cr"), ("postfinance_status", "none")))] == 3
    assert after[("polybanking_payments", (("internal_status", "fb"), ("postfinance_status", "9")))] == 1
    assert after[("polybanking_ipn_attempts_total", (("outcome", "success"),))] == 1
    assert after[("polybanking_ipn_attempts_total", (("outcome", "failure"),))] == 2
    assert after[("polybanking_ipn_pending", ())] == 0
    assert after[("polybanking_queue_depth", (("state", "pending"),))] == 0
    assert after[("polybanking_database_up", ())] == 1
    assert after[("polybanking_http_request_duration_seconds_count", (("route", "payment.start"),))] >= 4


def test_metrics_queue_depth_counts_waiting_tasks(make_app, make_config, tmp_path):
    testapp = make_app(
        **{"huey.backend": "sqlite", "huey.filename": str(tmp_path / "q.sqlite"), "huey.immediate": "false"}
    )
    huey = testapp.app.registry.huey
    huey.enqueue(testapp.app.registry.tasks.send_ipn.s(1))
    huey.enqueue(testapp.app.registry.tasks.send_ipn.s(2))
    assert samples(testapp)[("polybanking_queue_depth", (("state", "pending"),))] == 2
    assert testapp.get("/healthz").json["queue_depth"] == {"pending": 2, "scheduled": 0}


def test_public_requests_run_no_monitoring_query(testapp, make_config):
    """Off the hot path: a payment start runs its own statements only, never a count over a table."""
    config = make_config()
    statements: list[str] = []
    engine = testapp.app.registry["dbengine"]

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        testapp.post("/paiements/start/", start_params(config, "100", "hot-path"))
        testapp.post("/paiements/ipn", {"orderID": "polybanking-999999", "STATUS": "9"}, status=404)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements, "the start request used the database"
    assert not [s for s in statements if "count(" in s.lower()]
    statements.clear()
    event.listen(engine, "before_cursor_execute", record)
    try:
        testapp.get("/metrics")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if "count(" in s.lower()]
