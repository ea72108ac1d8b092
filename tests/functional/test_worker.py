"""The real queue and the real worker process: an IPN enqueued after commit by the web app is
delivered by `polybanking worker` (Huey on SQLite, or on Redis when PB_TEST_REDIS_URL is set)."""

import subprocess
import sys
import time

import webtest
from sqlalchemy import select

from polybanking import main
from polybanking.models import Transaction, TransactionLog

from ..inifile import write_ini
from ..website import postfinance_sha, start_params


def postsale(settings, order_id, status="9", amount="5.5", pay_id="3000000001"):
    params = {
        "orderID": order_id,
        "amount": amount,
        "currency": "CHF",
        "STATUS": status,
        "PAYID": pay_id,
        "PAYIDSUB": "0",
        "NCERROR": "0",
        "BRAND": "VISA",
        "PM": "CreditCard",
    }
    params["SHASIGN"] = postfinance_sha(params, settings["postfinance.test.sha_out"])
    return params


def test_worker_process_delivers_ipn_enqueued_after_commit(
    queued_settings, make_config, receiver, db, tmp_path, clean_db
):
    app = main({}, **queued_settings)
    try:
        testapp = webtest.TestApp(app)
        config = make_config()
        start = testapp.post("/paiements/start/", start_params(config, "550", "queued-1"))
        assert start.json["status"] == "OK"
        transaction_id = db.run(lambda s: s.scalar(select(Transaction.id)))
        answer = testapp.post("/paiements/ipn", postsale(queued_settings, f"polybanking-{transaction_id}"))
        assert answer.status_int == 200

        # Queued, not delivered: no worker runs yet.
        assert app.registry.huey.pending_count() == 1
        assert receiver.received == []
        assert db.run(lambda s: s.scalar(select(Transaction.ipn_needed)))

        ini = write_ini(tmp_path / "worker.ini", queued_settings)
        worker = subprocess.Popen(
            [sys.executable, "-m", "polybanking.scripts.cli", "--ini", ini, "worker", "--workers", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def outbox(session):
            logs = session.scalars(select(TransactionLog.log_type)).all()
            return session.scalar(select(Transaction.ipn_needed)), logs

        try:
            ipns = receiver.wait_for(1, timeout=30)
            # Stop only once the attempt is recorded: a worker stopped mid-task leaves the IPN to
            # the next one (test_worker_recovery.py), which is not what this test is about.
            deadline = time.monotonic() + 30
            while db.run(lambda s: s.scalar(select(Transaction.ipn_needed))) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.terminate()
            output = worker.communicate(timeout=30)[0]
        assert len(ipns) == 1, output
        assert ipns[0]["postfinance_status"] == "9" and ipns[0]["reference"] == "queued-1"

        ipn_needed, logs = db.run(outbox)
        assert ipn_needed is False
        assert logs.count("ipnsuccess") == 1
    finally:
        app.registry.huey.flush()
        app.registry["dbengine"].dispose()


def test_refused_feedback_enqueues_nothing(queued_settings, make_config, db, clean_db):
    """A refused feedback (bad signature) changes nothing and queues nothing."""
    app = main({}, **queued_settings)
    try:
        testapp = webtest.TestApp(app)
        config = make_config()
        testapp.post("/paiements/start/", start_params(config, "550", "queued-2"))
        transaction_id = db.run(lambda s: s.scalar(select(Transaction.id)))
        params = postsale(queued_settings, f"polybanking-{transaction_id}")
        params["STATUS"] = "5"  # tampered after signing
        testapp.post("/paiements/ipn", params, status=400)
        assert app.registry.huey.pending_count() == 0
    finally:
        app.registry.huey.flush()
        app.registry["dbengine"].dispose()
