"""A task queue that hangs (issue 19): Redis accepts connections and never answers, as when it is
SIGSTOPped or its packets are dropped. PostFinance's feedback, payment starts and /healthz must not
wait for it; the web process stops trying (circuit breaker) and the outbox scan carries the IPNs.

The fake Redis (tests/fake_redis.py) is a socket server thread: it accepts, reads and never writes;
to come back, it answers like an empty Redis.
"""

import logging
import threading
import time

import pytest
import webtest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from polybanking import main
from polybanking.models import Transaction

from ..conftest import app_settings_for
from ..fake_redis import FakeRedis
from ..website import postfinance_sha, start_params

#: The web process waits this long for Redis (huey.enqueue_timeout_ms), and each request is
#: asserted to answer well within BOUND, a generous margin for a loaded test machine.
TIMEOUT_MS = 50
BOUND = 1.0


@pytest.fixture
def hanging_redis():
    server = FakeRedis("hang")
    yield server
    server.close()


@pytest.fixture
def hung_app(hanging_redis, base_settings, live_server, clean_db):
    queue = {
        "huey.backend": "redis",
        # production.ini's URL options, meant for the worker: the web's bound must still win.
        "huey.url": f"redis://127.0.0.1:{hanging_redis.port}/0?socket_connect_timeout=5&socket_timeout=10",
        "huey.immediate": "false",
        "huey.enqueue_timeout_ms": str(TIMEOUT_MS),
        "huey.breaker_seconds": "30",
    }
    application = main({}, **app_settings_for(base_settings, live_server.url, **queue))
    yield webtest.TestApp(application, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    application.registry["dbengine"].dispose()


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def postsale(sha_out: str, transaction_id: int) -> dict[str, str]:
    params = {"orderID": f"polybanking-{transaction_id}", "amount": "5.5", "currency": "CHF", "STATUS": "9"}
    params["SHASIGN"] = postfinance_sha(params, sha_out)
    return params


def scrape(testapp) -> dict[str, float]:
    text = testapp.get("/metrics").text
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def test_hanging_redis_holds_no_request_and_the_outbox_delivers(
    hung_app, hanging_redis, make_config, receiver, db, base_settings, caplog
):
    caplog.set_level(logging.INFO)
    config = make_config()
    sha_out = base_settings["postfinance.test.sha_out"]
    ids = []
    for reference in ("hang-1", "hang-2", "hang-3"):
        answer, seconds = timed(
            lambda r=reference: hung_app.post("/paiements/start/", start_params(config, "550", r))
        )
        assert answer.json["status"] == "OK" and seconds < BOUND  # never touches the queue
        ids.append(
            db.run(lambda s, r=reference: s.scalar(select(Transaction.id).where(Transaction.reference == r)))
        )

    # The first feedback tries Redis once and gives up after the enqueue timeout.
    answer, seconds = timed(lambda: hung_app.post("/paiements/ipn", postsale(sha_out, ids[0])))
    assert answer.status_int == 200 and seconds < BOUND
    assert hanging_redis.connections == 1
    deadline = time.monotonic() + 2
    while hanging_redis.received == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the fake's thread may lag behind the client that gave up
    assert hanging_redis.received > 0
    received = hanging_redis.received

    # The breaker is open: the next ones do not even try.
    for transaction_id in ids[1:]:
        answer, seconds = timed(
            lambda t=transaction_id: hung_app.post("/paiements/ipn", postsale(sha_out, t))
        )
        assert answer.status_int == 200 and seconds < BOUND
    time.sleep(0.1)  # let the fake's threads catch up before looking
    assert hanging_redis.connections == 1 and hanging_redis.received == received

    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    down = [m for level, m in messages if m.startswith("task queue unreachable")]
    assert len(down) == 1 and f"transaction {ids[0]}" in down[0] and "TimeoutError" in down[0]
    for transaction_id in ids[1:]:
        assert any(f"transaction {transaction_id} deferred" in m for _, m in messages)
    assert not [m for level, m in messages if level >= logging.ERROR]  # no "Error in hook exec" traceback

    # /healthz answers at once: degraded, not down (payments go on).
    health, seconds = timed(lambda: hung_app.get("/healthz"))
    assert seconds < BOUND
    assert health.status_int == 200
    assert health.json["status"] == "degraded"
    assert health.json["degraded"] == ["queue"]
    assert health.json["database"] == "ok" and "Timeout" in health.json["queue"]
    assert health.json["queue_breaker"] == "open"
    assert health.json["ipn"]["pending"] == 3

    metrics = scrape(hung_app)
    assert metrics["polybanking_queue_circuit_open"] == 1
    assert metrics["polybanking_queue_enqueues_deferred_total"] == 3
    assert metrics["polybanking_queue_enqueue_failures_total"] == 1

    # The outbox scan (the worker's periodic task) carries the three IPNs, each once.
    summary = hung_app.app.registry.tasks.ipn_deliverer.deliver_due()
    assert summary.delivered == 3
    assert sorted(ipn["reference"] for ipn in receiver.received) == ["hang-1", "hang-2", "hang-3"]


def test_many_feedbacks_at_once_stay_fast(hung_app, hanging_redis, make_config, db, base_settings):
    """Eight threads at a time, as waitress has: each request tries Redis at most once (those already
    trying when the breaker opened), none waits more than about one enqueue timeout."""
    config = make_config()
    sha_out = base_settings["postfinance.test.sha_out"]
    ids = []
    for n in range(16):
        hung_app.post("/paiements/start/", start_params(config, "550", f"burst-{n}"))
        ids.append(
            db.run(
                lambda s, r=f"burst-{n}": s.scalar(select(Transaction.id).where(Transaction.reference == r))
            )
        )
    durations: list[float] = []

    def feedback(transaction_id):
        answer, seconds = timed(lambda: hung_app.post("/paiements/ipn", postsale(sha_out, transaction_id)))
        assert answer.status_int == 200
        durations.append(seconds)

    for wave in (ids[:8], ids[8:]):
        threads = [threading.Thread(target=feedback, args=(t,)) for t in wave]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert hanging_redis.connections <= 8  # the second wave finds the breaker open: no new try
    assert len(durations) == 16
    assert max(durations) < 2 * BOUND


def test_the_web_process_tries_again_after_the_wait_and_says_the_queue_is_back(
    hanging_redis, base_settings, live_server, clean_db, make_config, db, caplog
):
    queue = {
        "huey.backend": "redis",
        "huey.url": hanging_redis.url,
        "huey.immediate": "false",
        "huey.breaker_seconds": "0.3",
    }
    application = main({}, **app_settings_for(base_settings, live_server.url, **queue))
    testapp = webtest.TestApp(application, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    caplog.set_level(logging.INFO, logger="polybanking")
    try:
        config = make_config()
        sha_out = base_settings["postfinance.test.sha_out"]
        ids = []
        for n in range(3):
            testapp.post("/paiements/start/", start_params(config, "550", f"back-{n}"))
            ids.append(
                db.run(
                    lambda s, r=f"back-{n}": s.scalar(
                        select(Transaction.id).where(Transaction.reference == r)
                    )
                )
            )
        testapp.post("/paiements/ipn", postsale(sha_out, ids[0]))  # fails: the breaker opens
        testapp.post("/paiements/ipn", postsale(sha_out, ids[1]))  # deferred
        hanging_redis.mode = "empty"  # Redis answers again
        time.sleep(0.4)
        assert testapp.get("/healthz").json["queue_breaker"] == "open"  # not tried since
        testapp.post("/paiements/ipn", postsale(sha_out, ids[2]))  # the trial: queued
        assert hanging_redis.commands.count(b"LPUSH") == 1
        health = testapp.get("/healthz").json
        assert (health["status"], health["degraded"], health["queue_breaker"]) == ("ok", [], "closed")
        (back,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("task queue back")]
        assert back.endswith("; 2 tasks left to the outbox scan meanwhile")
        assert scrape(testapp)["polybanking_queue_circuit_open"] == 0
    finally:
        application.registry["dbengine"].dispose()


def test_worker_logs_the_queue_going_and_coming_back_not_a_traceback_per_poll(hanging_redis, caplog):
    """The worker's side: Huey's scheduler would log 'Error reading schedule.' with a traceback
    every second; the consumer says once that the queue went and once that it came back."""
    from huey import RedisHuey

    from polybanking.tasks.consumer import build_consumer

    huey = RedisHuey("pb-test-consumer", url=hanging_redis.url + "?socket_timeout=0.2")
    consumer = build_consumer(huey, workers=1, scan_interval=60)
    worker, scheduler = consumer._create_worker(), consumer._create_scheduler()
    caplog.set_level(logging.INFO)
    for _ in range(3):
        scheduler.loop()
    worker.loop()  # Huey's blocking read hides the error: says nothing, proves nothing
    hanging_redis.mode = "empty"
    scheduler.loop()
    messages = [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    (down,) = [m for m in messages if m.startswith("task queue unreachable")]
    assert "TimeoutError" in down and "IPNs stay due in the outbox" in down
    (back,) = [m for m in messages if m.startswith("task queue back")]
    assert back.endswith("; 2 failed queue reads meanwhile")
