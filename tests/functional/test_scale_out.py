"""Scale-out on PostgreSQL + Redis: two web processes and two workers at once (issue 8).

The cluster runs the shipped production.ini exactly as systemd does (deploy/): ``pserve
production.ini http_port=N`` twice and ``polybanking --ini production.ini worker`` twice, with the
settings in ``POLYBANKING_…`` variables, sharing the suite's PostgreSQL database and Redis.

- 200 starts at once, 50 references each sent 4 times, spread over both web processes: exactly one
  success per reference.
- 100 payments whose post-sale feedback (to one process) and browser return (to the other) arrive
  at the same moment: each ends in the right state, with exactly one IPN per status change.
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from polybanking.models import Transaction, TransactionLog

from ..conftest import ROOT
from ..website import hidden_fields, path_of, postfinance_sha, start_params, website_sign

DATABASE = os.environ.get("PB_TEST_DATABASE_URL", "")
REDIS = os.environ.get("PB_TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    not (DATABASE.startswith("postgresql") and REDIS),
    reason="issue 8 asks for these on PostgreSQL + Redis, which several processes and hosts share "
    "(set PB_TEST_DATABASE_URL and PB_TEST_REDIS_URL, as the CI's second pass does)",
)
PRODUCTION_INI = str(ROOT / "production.ini")


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the test run dies, so no server outlives it on a shared machine."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self, folder, base_settings):
        self.ports = [free_port(), free_port()]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.huey_name = f"pb-scale-{uuid.uuid4().hex[:8]}"
        self.environ = {k: v for k, v in os.environ.items() if not k.startswith("POLYBANKING_")}
        self.environ.update(
            {
                "POLYBANKING_SQLALCHEMY_URL": DATABASE,
                "POLYBANKING_HUEY_URL": REDIS,
                "POLYBANKING_HUEY_NAME": self.huey_name,
                "POLYBANKING_POLYBANKING_BASE_URL": self.urls[0],
                "POLYBANKING_SESSION_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
                # An IPN whose send_ipn met the row locked by a concurrent duplicate report is left
                # to the outbox scan (skip_locked claim); scan often so the test need not wait 60 s.
                "POLYBANKING_IPN_SCAN_INTERVAL": "2",
                # The suite's websites are local receivers, which production refuses (issue 16).
                "POLYBANKING_IPN_ALLOW_PRIVATE_DESTINATIONS": "true",
                **{
                    f"POLYBANKING_POSTFINANCE_TEST_{name.upper()}": base_settings[f"postfinance.test.{name}"]
                    for name in ("pspid", "sha_in", "sha_out")
                },
            }
        )
        self.folder = folder
        self.processes: dict[str, subprocess.Popen] = {}

    def _spawn(self, name, command):
        with open(self.folder / f"{name}.log", "w") as log:  # stderr: the JSON log lines
            self.processes[name] = subprocess.Popen(
                command,
                env=self.environ,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=ROOT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads started yet in the child)
            )

    def start(self):
        for n, port in enumerate(self.ports):
            self._spawn(
                f"web{n}",
                [sys.executable, "-m", "pyramid.scripts.pserve", PRODUCTION_INI, f"http_port={port}"],
            )
        for n in range(2):
            command = [sys.executable, "-m", "polybanking.scripts.cli", "--ini", PRODUCTION_INI, "worker"]
            self._spawn(f"worker{n}", [*command, "--workers", "2"])
        deadline = time.monotonic() + 60
        for url in self.urls:
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, self.logs()
                assert all(p.poll() is None for p in self.processes.values()), self.logs()
                time.sleep(0.2)
        return self

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.folder / f'{name}.log').read_text()[-3000:]}" for name in self.processes
        )

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes.values())

    def stop(self):
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, base_settings, engine):
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), base_settings)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
    for name in cluster.processes:
        for line in (cluster.folder / f"{name}.log").read_text().splitlines():
            if line.startswith("Starting server in PID"):
                continue  # pserve's own print, not a log record
            assert line.startswith("{"), line  # production.ini logs one JSON object per line
            assert json.loads(line)["level"] not in ("ERROR", "CRITICAL"), line


#: Each request on a connection of its own, closed by the server after answering, as nginx does
#: upstream by default (and no idle client connection holds one of waitress's connection slots).
CLOSE = {"Connection": "close"}


def run_at_once(calls):
    """Run every call in its own thread, released together by a barrier; results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # shown by the caller's assertion
            results[index] = error

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


def test_200_parallel_starts_50_references_one_success_each(cluster, make_config, db):
    config = make_config()
    references = [f"rush-{n}" for n in range(50)]
    requests_made = [(cluster.urls[i % 2], references[i % 50]) for i in range(200)]

    def start(url, reference):
        def call():
            answer = requests.post(
                f"{url}/paiements/start/",
                data=start_params(config, "2500", reference),
                headers=CLOSE,
                timeout=60,
            )
            return reference, answer.status_code, answer.json()["status"]

        return call

    results = run_at_once([start(url, reference) for url, reference in requests_made])
    by_reference: dict[str, list[tuple[int, str]]] = {reference: [] for reference in references}
    for reference, code, status in results:
        by_reference[reference].append((code, status))
    for reference, answers in by_reference.items():
        assert sorted(answers) == [(200, "OK")] + [(400, "REFERENCE_ERROR")] * 3, reference
    stored = db.run(lambda s: sorted(s.scalars(select(Transaction.reference)).all()))
    assert stored == sorted(references)
    assert cluster.alive(), cluster.logs()


def postfinance_report(settings, order_id, status, pay_id):
    params = {
        "orderID": order_id,
        "amount": "12.5",
        "currency": "CHF",
        "PM": "CreditCard",
        "ACCEPTANCE": "T12345",
        "STATUS": status,
        "CARDNO": "XXXXXXXXXXXX1111",
        "PAYID": pay_id,
        "PAYIDSUB": "0",
        "NCERROR": "0",
        "BRAND": "VISA",
    }
    params["SHASIGN"] = postfinance_sha(params, settings["postfinance.test.sha_out"])
    return params


#: (browser return's STATUS, post-sale's STATUS, final status): same report twice, or 5 then 9.
SCENARIOS = [("9", "9", "9"), ("2", "2", "2"), ("5", "9", "9"), ("5", "5", "5")]


def test_feedback_and_return_at_once_for_100_payments(cluster, make_config, db, receiver, base_settings):
    config = make_config()
    count = 100

    def open_payment(n):
        url = cluster.urls[n % 2]
        answer = requests.post(
            f"{url}/paiements/start/",
            data=start_params(config, "1250", f"pay-{n}"),
            headers=CLOSE,
            timeout=60,
        )
        go = requests.get(url + path_of(answer.json()["url"]), headers=CLOSE, timeout=60)
        return hidden_fields(go.text)["ORDERID"]

    with ThreadPoolExecutor(16) as pool:
        order_ids = list(pool.map(open_payment, range(count)))

    calls = []
    for n, order_id in enumerate(order_ids):
        back_status, postsale_status, _final = SCENARIOS[n % len(SCENARIOS)]
        pay_id = str(5000000 + n)
        postsale = postfinance_report(base_settings, order_id, postsale_status, pay_id)
        back = postfinance_report(base_settings, order_id, back_status, pay_id)
        calls.append(
            lambda u=cluster.urls[n % 2], p=postsale: requests.post(
                f"{u}/paiements/ipn", data=p, headers=CLOSE, timeout=60
            )
        )
        calls.append(
            lambda u=cluster.urls[(n + 1) % 2], p=back: requests.get(
                f"{u}/paiements/return", params=p, allow_redirects=False, headers=CLOSE, timeout=60
            )
        )
    answers = run_at_once(calls)
    for n in range(count):
        postsale, back = answers[2 * n], answers[2 * n + 1]
        final_ok = SCENARIOS[n % len(SCENARIOS)][0] in ("5", "9")
        assert not isinstance(postsale, Exception) and postsale.status_code == 200, postsale
        assert not isinstance(back, Exception) and back.status_code == 303, back
        assert back.headers["Location"] == (config.url_back_ok if final_ok else config.url_back_err)

    def state(session):
        rows = session.execute(select(Transaction.reference, Transaction.postfinance_status)).all()
        logs = session.execute(
            select(Transaction.reference, TransactionLog.log_type).join(TransactionLog.transaction)
        ).all()
        return dict(rows), Counter((ref, kind) for ref, kind in logs)

    finals, logs = db.run(state)
    changes = {f"pay-{n}": logs[(f"pay-{n}", "postfinanceStatus")] for n in range(count)}
    for n in range(count):
        back_status, postsale_status, final = SCENARIOS[n % len(SCENARIOS)]
        reference = f"pay-{n}"
        assert finals[reference] == final, reference
        expected_changes = {1} if back_status == postsale_status else {1, 2}  # 9 first makes 5 stale
        assert changes[reference] in expected_changes, reference

    # Delivery: wait until the outbox is empty (every due IPN accepted), then a grace period for extras.
    def outbox(session):
        due = session.scalar(select(func.count()).where(Transaction.ipn_needed.is_(True)))
        kinds = Counter(session.scalars(select(TransactionLog.log_type)).all())
        return due, kinds

    deadline = time.monotonic() + 30
    while (result := db.run(outbox))[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    due, kinds = result
    assert due == 0, f"{due} IPNs still due"
    time.sleep(1.0)
    received = list(receiver.received)
    # Every accepted IPN is logged once; a failed attempt (the local receiver overwhelmed) is retried.
    assert kinds["ipnsuccess"] == len(received)

    per_reference = Counter(ipn["reference"] for ipn in received)
    for n in range(count):
        back_status, postsale_status, final = SCENARIOS[n % len(SCENARIOS)]
        reference = f"pay-{n}"
        if changes[reference] == 1:
            # The same report by both channels is one status change: exactly one IPN, never two.
            assert per_reference[reference] == 1, reference
        else:
            # 5 then 9 a few milliseconds apart: an IPN carries the state at send time (issue 4), so the
            # first may already tell 9 and the second is then not sent; never more IPNs than changes.
            assert 1 <= per_reference[reference] <= 2, reference
    # The outbox never sends for one transaction from two workers at once, and resends when the
    # status moved during a delivery: the website's last IPN tells the final status.
    last = {ipn["reference"]: ipn["postfinance_status"] for ipn in received}
    assert last == finals
    for ipn in received:
        signed = {k: v for k, v in ipn.items() if k != "sign"}
        assert ipn["sign"] == website_sign(config.key_ipn, signed)
        n = int(ipn["reference"].split("-")[1])
        assert ipn["postfinance_status"] in SCENARIOS[n % len(SCENARIOS)][:2]
    assert cluster.alive(), cluster.logs()

    # Database-derived metrics are the same whichever process is scraped (deploy/README.md).
    scrapes = [requests.get(f"{url}/metrics", timeout=10).text for url in cluster.urls]
    success = f'polybanking_ipn_attempts_total{{outcome="success"}} {float(len(received))}'
    assert all(success in scrape for scrape in scrapes)


def test_production_ini_believes_its_proxy_over_real_http(cluster, make_config, db):
    """production.ini trusts 127.0.0.1 (nginx): its X-Forwarded-For reaches the app through waitress
    (which drops those headers itself unless clear_untrusted_proxy_headers = false)."""
    config = make_config()
    answer = requests.post(
        f"{cluster.urls[1]}/paiements/start/",
        data=start_params(config, "100", "via-nginx"),
        headers=CLOSE,
        timeout=30,
    )
    forwarded = {**CLOSE, "X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    assert requests.get(cluster.urls[0] + path_of(answer.json()["url"]), headers=forwarded, timeout=30).ok
    query = select(TransactionLog.extra_data).where(TransactionLog.log_type == "userForwarded")
    assert db.run(lambda session: session.scalars(query).all()) == ["198.51.100.7"]
    assert answer.json()["url"].startswith(cluster.urls[0] + "/paiements/go/")  # polybanking.base_url


def test_parallel_wrong_passwords_over_both_processes_are_counted_one_by_one(cluster, db):
    """Issue 16: 24 guesses at one username at once, spread over both web processes and
    PostgreSQL connections: only the throttle's first 5 have their password checked."""
    import re

    from polybanking.auth import throttle
    from polybanking.auth.passwords import hash_password
    from polybanking.models import SignInFailure, User

    db.run(lambda s: s.add(User(username="target", password_hash=hash_password("the real password 42"))))
    guesses = []
    for n in range(24):
        url = cluster.urls[n % 2] + "/admin/login"
        page = requests.get(url, headers=CLOSE, timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]  # Secure: sent by hand over plain HTTP
        form = {"username": "target", "password": f"guess {n}", "csrf_token": token}
        guesses.append((url, form, {**CLOSE, "Cookie": cookie}))
    answers = run_at_once(
        [lambda g=g: requests.post(g[0], data=g[1], headers=g[2], timeout=60).status_code for g in guesses]
    )
    checked = answers.count(400)
    assert throttle.USERNAME_LIMIT <= checked <= throttle.USERNAME_LIMIT + 1, answers
    assert answers.count(429) == len(guesses) - checked
    assert db.run(lambda s: s.query(SignInFailure).filter_by(username="target").count()) == checked
