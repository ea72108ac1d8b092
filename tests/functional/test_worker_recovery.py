"""Nothing is lost (issue 4): a `polybanking worker` process killed with SIGKILL in the middle of a
delivery, and a queue emptied behind the worker's back, only delay the IPN; the outbox in the
database brings it through. Real processes, real queue (SQLite file or Redis), real HTTP."""

import signal
import subprocess
import sys
import time

import pytest
import webtest
from sqlalchemy import select

from polybanking import main
from polybanking.models import Transaction, TransactionLog
from polybanking.models.meta import utcnow

from ..inifile import write_ini
from ..outbox import add_due, attempts_of, outbox_state
from ..website import postfinance_sha, start_params

#: Short enough to keep the tests quick: a claim lease is 2 × timeout + 5 s.
WORKER_IPN = {"ipn.timeout": "1", "ipn.scan_interval": "2", "ipn.retry_schedule": "1s 10s"}


@pytest.fixture
def worker_ini(queued_settings, tmp_path):
    return write_ini(tmp_path / "worker.ini", {**queued_settings, **WORKER_IPN})


@pytest.fixture
def workers():
    """``workers.start(ini)``; every worker still running at the end is stopped, and its output
    shown if the test failed."""
    started: list[subprocess.Popen] = []

    class Workers:
        @staticmethod
        def start(ini: str) -> subprocess.Popen:
            command = [sys.executable, "-m", "polybanking.scripts.cli", "--ini", ini, "worker"]
            process = subprocess.Popen(
                [*command, "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            started.append(process)
            return process

    yield Workers
    for process in started:
        if process.poll() is None:
            process.terminate()
        output = process.communicate(timeout=30)[0]
        print(output)  # pytest shows it for a failed test only


def wait_until(condition, timeout: float = 30.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def test_worker_killed_mid_delivery_then_restarted_delivers(
    worker_ini, workers, make_config, receiver, db, clean_db
):
    receiver.delays = [receiver.HOLD, 0]
    transaction_id = add_due(db, make_config(), now=utcnow())
    first = workers.start(worker_ini)
    assert receiver.wait_for(1, timeout=30), "the worker never sent the IPN"
    first.send_signal(signal.SIGKILL)  # while the website has not answered yet
    first.wait(timeout=10)
    receiver.release()  # its answer goes to nobody

    state = outbox_state(db, transaction_id)
    assert state.needed is True and state.claimed is True
    assert attempts_of(db, transaction_id) == []  # the killed attempt left no record

    second = workers.start(worker_ini)
    assert wait_until(lambda: not outbox_state(db, transaction_id).needed), "never delivered"
    assert len(receiver.received) == 2  # the lost answer's IPN, then its redelivery
    (attempt,) = attempts_of(db, transaction_id)
    assert attempt.success is True
    assert not outbox_state(db, transaction_id).claimed

    # At least once, documented: the repeat is the same IPN, with the same webhook-id.
    assert receiver.received[0] == receiver.received[1]
    ids = [{k.lower(): v for k, v in headers.items()}["webhook-id"] for headers in receiver.headers]
    assert ids[0] == ids[1] == attempt.webhook_id
    # The other worker noticed: the transaction's story says so, and so does its log, once.
    log_types = db.run(
        lambda s: s.scalars(
            select(TransactionLog.log_type).where(TransactionLog.transaction_id == transaction_id)
        ).all()
    )
    assert log_types.count("ipnClaimExpired") == 1
    second.terminate()
    output = second.communicate(timeout=30)[0]
    takeovers = [line for line in output.splitlines() if "took over 1 IPN claim" in line]
    assert len(takeovers) == 1 and f"transactions {transaction_id})" in takeovers[0], output


def postsale(settings, transaction_id):
    params = {
        "orderID": f"polybanking-{transaction_id}",
        "amount": "5.5",
        "currency": "CHF",
        "STATUS": "9",
        "PAYID": "3000000001",
        "PAYIDSUB": "0",
        "NCERROR": "0",
    }
    params["SHASIGN"] = postfinance_sha(params, settings["postfinance.test.sha_out"])
    return params


def test_queue_emptied_behind_the_workers_back(
    queued_settings, worker_ini, workers, make_config, receiver, db, clean_db
):
    receiver.statuses = [503, 200]
    receiver.retry_after = ["3", None]  # the retry waits 3 s: time to lose its message
    app = main({}, **queued_settings)
    huey = app.registry.huey
    try:
        testapp = webtest.TestApp(app)
        testapp.post("/paiements/start/", start_params(make_config(), "550", "lost-1"))
        transaction_id = db.run(lambda s: s.scalar(select(Transaction.id)))
        testapp.post("/paiements/ipn", postsale(queued_settings, transaction_id))
        assert huey.pending_count() == 1
        huey.flush()  # the status change's message is lost before any worker saw it

        workers.start(worker_ini)  # its first scan, at start-up, finds the IPN in the outbox
        assert wait_until(lambda: len(attempts_of(db, transaction_id)) == 1), "first attempt never made"
        assert wait_until(lambda: huey.scheduled_count() >= 1, timeout=5)
        huey.flush()  # and now the retry's message, while the worker runs
        assert huey.pending_count() == 0 and huey.scheduled_count() == 0

        assert wait_until(lambda: not outbox_state(db, transaction_id).needed), "never delivered"
        first, second = attempts_of(db, transaction_id)
        assert (first.http_status, second.http_status) == (503, 200)
        assert (second.attempted_at - first.attempted_at).total_seconds() >= 3  # Retry-After kept
        assert [ipn["reference"] for ipn in receiver.received] == ["lost-1", "lost-1"]
    finally:
        huey.flush()
        app.registry["dbengine"].dispose()
