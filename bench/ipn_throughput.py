"""IPN delivery throughput: one `polybanking worker` process against a bare `requests.Session` loop.

    .venv/bin/python bench/ipn_throughput.py [--count 5000] [--concurrency 8] [--per-message]
        [--slow-website N [--ipn-timeout 10]]

5 000 IPNs are made due at once in the database (the outbox); the worker's scan delivers them to a
local receiver (a separate process, HTTP/1.1 keep-alive, answering 200 at once). The same
payloads (form body and Standard Webhooks headers) are then posted by a bare loop on one
`requests.Session`. Both run in this one invocation, and the bare loop runs before and after the
worker; the faster of its two runs is the baseline, so the ratio is the conservative one.

The database is a temporary SQLite file, or $PB_BENCH_DATABASE_URL (PostgreSQL; its schema is
dropped and rebuilt); the queue is Huey on a temporary SQLite file, or $PB_BENCH_REDIS_URL. The
target is a ratio of at least 0.5 (issue 4). `--per-message` also times the same IPNs sent as one
queued `send_ipn` message each, for comparison.

`--slow-website N` (issue 18) makes N IPNs of another config due at the same moment, first in
the outbox's order (a second earlier: the worst case for the others), whose endpoint (another
local process) accepts the post and then answers one byte a second, so each of its attempts
lasts the worker's `ipn.timeout` (`--ipn-timeout`, 10 s by default as in production). The ratio
is then the first website's drain rate, measured while the slow one holds its share of the
posting threads, to the bare loop's; and the slow website's attempts recorded by then and a
while later (each IPN tried once, or `--slow-wait` seconds) are summed up: how many, how long each.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from sqlalchemy import func, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent


def serve_receiver() -> None:
    """The website: answers every POST with 200 and counts them; GET returns the count."""
    count = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real website's server
        disable_nagle_algorithm = True  # and no 40 ms stall between headers and body
        wbufsize = -1  # one write per answer

        def _reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                count[0] += 1
            self._reply(b"ok")

        def do_GET(self):  # noqa: N802
            self._reply(str(count[0]).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_port, flush=True)
    server.serve_forever()


def serve_dripper() -> None:
    """The slow website: reads the post, then answers one byte a second (never a whole answer in
    an attempt's time), one thread per connection; prints its port."""
    server = socket.create_server(("127.0.0.1", 0), backlog=256)
    print(server.getsockname()[1], flush=True)

    def drip(connection: socket.socket) -> None:
        with connection:
            try:
                while connection.recv(65536):
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                        time.sleep(1)
                        connection.sendall(bytes([byte]))
            except OSError:
                return  # the worker cut it at its deadline

    while True:
        connection, _ = server.accept()
        threading.Thread(target=drip, args=(connection,), daemon=True).start()


def write_ini(
    folder: Path, database_url: str, receiver_queue: dict, concurrency: int, timeout: float = 10
) -> str:
    settings = {
        "sqlalchemy.url": database_url,
        "polybanking.base_url": "http://127.0.0.1:6543",
        "postfinance.test.pspid": "Bench",
        "postfinance.test.sha_in": "bench-in",
        "postfinance.test.sha_out": "bench-out",
        "postfinance.test.url": "http://127.0.0.1:6543/sandbox/ncol/test/orderstandard_utf8.asp",
        "huey.immediate": "false",
        "huey.name": f"pb-bench-{uuid.uuid4().hex[:8]}",
        "ipn.concurrency": str(concurrency),
        "ipn.timeout": f"{timeout:g}",
        "ipn.allow_private_destinations": "true",  # the receiver listens on 127.0.0.1
        **receiver_queue,
    }
    lines = ["[app:main]", "use = egg:polybanking"]
    lines += [f"{key} = {value.replace('%', '%%')}" for key, value in settings.items()]
    lines += ["", "[alembic]", f"script_location = {ROOT / 'alembic'}"]
    lines += ["", "[loggers]", "keys = root", "", "[handlers]", "keys = console", "", "[formatters]"]
    lines += ["keys = generic", "", "[logger_root]", "level = WARN", "handlers = console", ""]
    lines += ["[handler_console]", "class = StreamHandler", "args = (sys.stderr,)", "formatter = generic"]
    lines += ["", "[formatter_generic]", "format = %%(levelname)s %%(name)s %%(message)s", ""]
    ini = folder / "bench.ini"
    ini.write_text("\n".join(lines))
    return str(ini)


def prepare_database(ini: str, raw: dict, url_ipn: str, count: int, slow_url: str = "", slow: int = 0):
    from polybanking.models import Config, Transaction, get_engine, get_session_factory
    from polybanking.scripts.commands import initdb

    engine = get_engine(raw)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    initdb(ini)
    factory = get_session_factory(engine)
    now = datetime.now(UTC)
    with factory.begin() as session:
        config = Config(name="Bench shop", url_ipn=url_ipn)
        session.add(config)
        session.flush()
        rows = [
            {
                "config_id": config.id,
                "reference": f"bench-{n}",
                "amount": 550 + n,
                "token": uuid.uuid4().hex,
                "postfinance_status": "9",
                "postfinance_id": str(3000000000 + n),
                "internal_status": "fb",
                "last_postfinance_ipn_date": now,
                "creation_date": now,
            }
            for n in range(count)
        ]
        if slow:
            slow_config = Config(name="Slow shop", url_ipn=slow_url)
            session.add(slow_config)
            session.flush()
            rows += [
                {
                    **row,
                    "config_id": slow_config.id,
                    "reference": f"slow-{n}",
                    "token": uuid.uuid4().hex,
                    "postfinance_id": str(4000000000 + n),
                }
                for n, row in enumerate(rows[:slow])
            ]
        session.execute(insert(Transaction), rows)
        return engine, factory, config.id


def payloads(factory, config_id: int) -> list[tuple[bytes, dict[str, str]]]:
    """What the worker will send to the (fast) website, as the bare loop posts it: body and headers."""
    from sqlalchemy.orm import joinedload

    from polybanking.models import Transaction
    from polybanking.services.ipn.payload import ipn_message, webhook_headers

    result = []
    with factory.begin() as session:
        chosen = select(Transaction).where(Transaction.config_id == config_id)
        for transaction in session.scalars(chosen.options(joinedload(Transaction.config))):
            message, key = ipn_message(transaction), transaction.config.key_ipn
            headers = webhook_headers(
                key, message.webhook_id, int(time.time()), message.body, message.content_type
            )
            result.append((message.body, headers))
    return result


def bare_loop(url: str, items) -> float:
    session = requests.Session()
    start = time.perf_counter()
    for body, headers in items:
        answer = session.post(url, data=body, headers=headers, timeout=10)
        answer.raise_for_status()
    return time.perf_counter() - start


def received(base: str) -> int:
    return int(requests.get(base, timeout=10).text)


@dataclass
class SlowAttempts:
    """The slow website's attempts: recorded by the end of the fast drain, and by the end."""

    during: int
    tried: int
    durations_ms: list[int]
    errors: list[str]
    waited: float


def slow_attempts(factory, config_id: int) -> tuple[list[int], list[str], int]:
    """Durations and errors of the config's recorded attempts, and how many of its IPNs have one."""
    from polybanking.models import IpnAttempt, Transaction

    with factory.begin() as session:
        rows = session.execute(
            select(IpnAttempt.duration_ms, IpnAttempt.error, IpnAttempt.transaction_id)
            .join(Transaction)
            .where(Transaction.config_id == config_id)
        ).all()
    return [row.duration_ms for row in rows], [row.error for row in rows], len({row[2] for row in rows})


def time_worker(
    ini, raw, factory, base_url, count, per_message: bool, fast_id: int, slow: int = 0, slow_wait: float = 0
) -> tuple[float, SlowAttempts | None]:
    """Start a worker, wait until it consumes, make every IPN due, and time until all the fast
    website's are recorded (then wait for the slow website's attempts, if any)."""
    from polybanking.models import Transaction
    from polybanking.settings import load
    from polybanking.tasks import TaskContext, build_huey, register_tasks

    huey = build_huey(raw)
    tasks = register_tasks(huey, TaskContext(factory, load(raw), raw))
    worker = subprocess.Popen(
        [sys.executable, "-m", "polybanking.scripts.cli", "--ini", ini, "worker", "--workers", "1"],
        cwd=ROOT,
    )
    try:
        tasks.send_ipn(0)  # a no-op message: once it is consumed, the worker is up
        while huey.pending_count():
            time.sleep(0.05)
        time.sleep(0.5)  # let its start-up scan (nothing due) finish
        before = received(base_url)
        start = time.perf_counter()
        now = datetime.now(UTC)
        with factory.begin() as session:
            due = {"ipn_needed": True, "ipn_attempts": 0, "ipn_failed": False}
            session.execute(
                update(Transaction)
                .where(Transaction.config_id == fast_id)
                .values(ipn_next_attempt_at=now, **due)
            )
            # The slow website's: due at the same moment, a second earlier in the outbox's order.
            session.execute(
                update(Transaction)
                .where(Transaction.config_id != fast_id)
                .values(ipn_next_attempt_at=now - timedelta(seconds=1), **due)
            )
            ids = list(session.scalars(select(Transaction.id).order_by(Transaction.ipn_next_attempt_at)))
        if per_message:
            for transaction_id in ids:
                tasks.send_ipn(transaction_id)
        else:
            tasks.deliver_due_ipns()  # the periodic scan, now rather than at the next interval
        fast_left = select(func.count()).where(
            Transaction.ipn_needed.is_(True), Transaction.config_id == fast_id
        )
        while True:
            with factory.begin() as session:
                left = session.scalar(fast_left)
            if not left:
                break
            if worker.poll() is not None:
                raise SystemExit("the worker stopped")
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        assert received(base_url) - before == count, "the receiver did not get every IPN"
        slow_result = None
        if slow:
            slow_id = fast_id + 1
            during = len(slow_attempts(factory, slow_id)[0])
            waited = time.perf_counter()
            while time.perf_counter() - waited < slow_wait and slow_attempts(factory, slow_id)[2] < slow:
                time.sleep(0.5)
            durations, errors, tried = slow_attempts(factory, slow_id)
            slow_result = SlowAttempts(during, tried, durations, errors, time.perf_counter() - start)
        return elapsed, slow_result
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        huey.flush()
        tasks.ipn_deliverer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["bench", "receiver", "dripper"], default="bench")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8, help="the worker's ipn.concurrency")
    parser.add_argument("--per-message", action="store_true", help="also time one send_ipn message per IPN")
    parser.add_argument(
        "--slow-website", type=int, default=0, metavar="N", help="N IPNs of a dripping website"
    )
    parser.add_argument("--ipn-timeout", type=float, default=10, help="the worker's ipn.timeout (seconds)")
    parser.add_argument(
        "--slow-wait", type=float, default=60, help="seconds to wait for each slow IPN's first attempt"
    )
    args = parser.parse_args()
    if args.mode == "receiver":
        serve_receiver()
        return
    if args.mode == "dripper":
        serve_dripper()
        return

    receiver = subprocess.Popen([sys.executable, __file__, "receiver"], stdout=subprocess.PIPE, text=True)
    dripper = None
    if args.slow_website:
        dripper = subprocess.Popen([sys.executable, __file__, "dripper"], stdout=subprocess.PIPE, text=True)
    with tempfile.TemporaryDirectory() as folder:
        try:
            port = int(receiver.stdout.readline())
            slow_url = f"http://127.0.0.1:{int(dripper.stdout.readline())}/ipn" if dripper else ""
            base_url, ipn_url = f"http://127.0.0.1:{port}/count", f"http://127.0.0.1:{port}/ipn"
            database = os.environ.get("PB_BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite"
            redis = os.environ.get("PB_BENCH_REDIS_URL")
            queue = {"huey.backend": "redis", "huey.url": redis} if redis else {}
            queue = queue or {"huey.backend": "sqlite", "huey.filename": f"{folder}/queue.sqlite"}
            ini = write_ini(Path(folder), database, queue, args.concurrency, args.ipn_timeout)
            from pyramid.paster import get_appsettings

            raw = dict(get_appsettings(ini))
            engine, factory, fast_id = prepare_database(
                ini, raw, ipn_url, args.count, slow_url, args.slow_website
            )
            items = payloads(factory, fast_id)

            bare = [bare_loop(ipn_url, items)]
            worker_time, slow = time_worker(
                ini, raw, factory, base_url, args.count, False, fast_id, args.slow_website, args.slow_wait
            )
            message_time = None
            if args.per_message:
                message_time, _ = time_worker(ini, raw, factory, base_url, args.count, True, fast_id)
            bare.append(bare_loop(ipn_url, items))
            engine.dispose()
        finally:
            for process in (receiver, dripper):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=10)

    best_bare = min(bare)
    rate = args.count / best_bare
    backend = queue["huey.backend"]
    print(f"database: {engine.dialect.name}, queue: {backend}, ipn.concurrency: {args.concurrency}")
    print(f"bare requests.Session loop: {rate:6.0f} IPN/s  (runs: {bare[0]:.2f} s, {bare[1]:.2f} s)")
    print(f"polybanking worker (scan):  {args.count / worker_time:6.0f} IPN/s  ({worker_time:.2f} s)")
    if slow is not None:
        print(
            f"slow website: {args.slow_website} IPNs due at once, ipn.timeout {args.ipn_timeout:g} s;"
            f" {slow.during} of its attempts recorded when the fast website's were all delivered"
        )
        if slow.durations_ms:
            seconds = sorted(ms / 1000 for ms in slow.durations_ms)
            middle, error = statistics.median(seconds), statistics.mode(slow.errors)
            print(
                f"  by {slow.waited:.0f} s, {slow.tried} of its IPNs tried, {len(seconds)} attempts,"
                f" each {seconds[0]:.1f} s to {seconds[-1]:.1f} s (median {middle:.1f} s): {error!r}"
            )
    if message_time is not None:
        print(f"worker, 1 message per IPN:  {args.count / message_time:6.0f} IPN/s  ({message_time:.2f} s)")
    what = "fast website's drain / bare loop" if slow is not None else "worker / bare loop"
    print(f"ratio {what}: {best_bare / worker_time:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
