"""HTTP load on /paiements/start/ compared with a bare Pyramid view, on the same server, in one run.

    python bench/http_load.py                                   # SQLite (temporary file)
    python bench/http_load.py --postgresql postgresql+psycopg://postgres@127.0.0.1/pb_bench
    python bench/http_load.py --postgresql URL --sqlite         # both, one after the other
    python bench/http_load.py --open-loop [--rate 200 --payment-rate 50 --duration 60]

One waitress process (production.ini's thread count) serves the PolyBanking app and, under
/bare/, a one-view Pyramid app: the ceiling any Pyramid view can reach on this machine now. A load
generator in another process keeps ``--clients`` keep-alive connections busy (closed loop) and
measures each answer. Rounds alternate bare / floor / start so a noisy neighbour hits all alike;
the figures printed are requests per second, p50 and p99 latency (of every answer of every round,
and the worst round's p99 beside it), and ratios to the bare view.
Targets (issue 8): start >= 0.4 of the bare view, start p99 < 100 ms at 50 clients.

With ``--open-loop`` (``open_loop.py``), requests go out on a schedule instead: ``--rate`` starts a
second (default 200) and ``--payment-rate`` whole payments a second (default 50: start, go,
post-sale, return), each for ``--duration`` seconds (default 60), beside the bare view at the same
request rates. Targets (issue 18): p99 < 50 ms for starts, < 100 ms for each step of a payment,
no error.

The floor (/floor/, also in the one-view app) is the least any start can do on this stack: read the
form, check its signature, then the same reads and writes as a start (the config, the transaction,
its log, the commit) through the database driver alone, with no ORM, no Core, no pyramid_tm. What
start costs beyond it is PolyBanking's; what the floor costs beyond the bare view is not.
The PostgreSQL database given is emptied (its public schema is dropped).
"""

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO, TARGET_P99_MS = 0.4, 100.0
#: Open loop (issue 18): p99 of a start alone, and of each step of a whole payment.
OPEN_TARGETS_MS = {"start": 50.0, "payment": 100.0}
KINDS = ("bare", "floor", "start")
PATHS = {"bare": "/bare/", "floor": "/floor/", "start": "/paiements/start/"}


# The server process ---------------------------------------------------------------------------


def bare_app(database_url: str):
    from pyramid.config import Configurator
    from pyramid.response import Response

    floor = Floor(database_url)

    def view(request):
        return Response(body=b'{"status": "OK", "url": ""}', content_type="application/json")

    with Configurator() as config:
        config.add_route("bare", "/bare/")
        config.add_view(view, route_name="bare")
        config.add_route("floor", "/floor/")
        config.add_view(floor.view, route_name="floor")
        return config.make_wsgi_app()


class Floor:
    """A start's database work through the driver alone (one connection per thread)."""

    CONFIG = "SELECT key_request, max_amount, active, admin_enable FROM configs WHERE id = :config_id"
    INSERT = (
        "INSERT INTO transactions (config_id, reference, extra_data, amount, token, internal_status,"
        " brand, card, flagged, creation_date, ipn_needed, ipn_attempts, ipn_failed,"
        " directlink_attempts) VALUES (:config_id, :reference, :extra_data, :amount, :token, 'cr',"
        " '', '', false, :now, false, 0, false, 0)"
        " ON CONFLICT (config_id, reference) DO NOTHING RETURNING id, token"
    )
    LOG = (
        'INSERT INTO transaction_logs (transaction_id, "when", log_type, extra_data)'
        " VALUES (:id, :now, 'created', '')"
    )

    def __init__(self, database_url: str):
        from pyramid.response import Response

        from polybanking.signing import check_sign

        self.postgresql = database_url.startswith("postgresql")
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.local = threading.local()
        self.sqlite_writer = threading.Lock()  # as the app's engine does (polybanking.models)
        self.response, self.check_sign = Response, check_sign
        # Written once: psycopg's parameters are %(name)s, sqlite3's :name.
        to_driver = (lambda sql: re.sub(r":(\w+)", r"%(\1)s", sql)) if self.postgresql else (lambda sql: sql)
        self.config_sql, self.insert_sql, self.log_sql = map(to_driver, (self.CONFIG, self.INSERT, self.LOG))

    def connection(self):
        if getattr(self.local, "connection", None) is None:
            if self.postgresql:
                import psycopg

                self.local.connection = psycopg.connect(self.url)
            else:
                import sqlite3

                connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
                for pragma in ("busy_timeout=30000", "journal_mode=WAL", "synchronous=FULL"):
                    connection.execute(f"PRAGMA {pragma}")
                self.local.connection = connection
        return self.local.connection

    def view(self, request):
        params = dict(request.POST)
        fields = {name: params.get(name, "") for name in ("amount", "reference", "extra_data", "config_id")}
        connection, now = self.connection(), datetime.now(UTC)
        if not self.postgresql:
            self.sqlite_writer.acquire()
            connection.execute("BEGIN IMMEDIATE")
            now = now.replace(tzinfo=None).isoformat(" ")
        try:
            cursor = connection.cursor()
            cursor.execute(self.config_sql, {"config_id": int(fields["config_id"])})
            key = cursor.fetchone()[0]
            if not self.check_sign(key, fields, params.get("sign")):
                raise ValueError("the load generator signs every request")
            values = {
                **fields,
                "amount": int(fields["amount"]),
                "token": secrets.token_urlsafe(32),
                "now": now,
            }
            cursor.execute(self.insert_sql, values)
            created = cursor.fetchone()
            cursor.execute(self.log_sql, {"id": created[0], "now": now})
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if not self.postgresql:
                self.sqlite_writer.release()
        body = json.dumps({"status": "OK", "url": f"http://127.0.0.1/paiements/go/{created[1]}"})
        return self.response(body=body.encode(), content_type="application/json")


def serve(settings_file: str, port: int, threads: int) -> None:
    import logging

    import waitress

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N": expected here

    from polybanking import main
    from polybanking.server import prepare_process

    settings = json.loads(Path(settings_file).read_text())
    gateway, bare = main({}, **settings), bare_app(settings["sqlalchemy.url"])

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        target = bare if path.startswith(("/bare/", "/floor/")) else gateway
        return target(environ, start_response)

    prepare_process()  # what production.ini's server (egg:polybanking#waitress) does first
    waitress.serve(app, listen=f"127.0.0.1:{port}", threads=threads, ident="bench", _quiet=True)


# The load generator process -------------------------------------------------------------------


def website_sign(secret: str, params: dict[str, str]) -> str:
    """PROTOCOL §1 (as a website computes it)."""
    text = ""
    for name in sorted(params):
        escape = str.maketrans({";": "!!", "=": "??"})
        text += f"{name.translate(escape)}={params[name].translate(escape)};{secret};"
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def start_body(spec: dict, reference: str) -> bytes:
    """A website's signed start request for ``reference`` (the closed and the open loop's)."""
    params = {"amount": "1250", "reference": reference, "extra_data": "", "config_id": str(spec["config_id"])}
    params["sign"] = website_sign(spec["key"], params)
    return urlencode(params).encode("ascii")


def request_bytes(kind: str, n: int, spec: dict) -> bytes:
    if kind == "bare":
        body = b""
        head = "POST /bare/ HTTP/1.1\r\n"
    else:
        body = start_body(spec, f"{spec['run']}-{kind}-{n}")
        head = f"POST {PATHS[kind]} HTTP/1.1\r\n"
    return (
        f"{head}Host: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


async def client(port, kind, spec, counter, deadline, latencies, errors):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            counter[0] += 1
            payload = request_bytes(kind, counter[0], spec)
            started = time.perf_counter()
            writer.write(payload)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def load(port: int, kind: str, clients: int, seconds: float, spec: dict) -> dict:
    latencies: list[float] = []
    errors: list[int] = []

    async def run():
        deadline = time.perf_counter() + seconds
        counter = [0]
        await asyncio.gather(
            *(client(port, kind, spec, counter, deadline, latencies, errors) for _ in range(clients))
        )

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "latencies_ms": [round(latency * 1000, 2) for latency in latencies],
        "errors": len(errors),
    }


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


# The conductor ----------------------------------------------------------------------------------


def prepare(database_url: str, folder: Path) -> tuple[dict, dict]:
    """Schema from the migrations, one config; the app's settings and the load generator's spec."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from pyramid.paster import get_appsettings
    from sqlalchemy import text

    from polybanking.models import Config, get_engine, get_session_factory

    settings = dict(get_appsettings(str(ROOT / "testing.ini")))
    # The queue in memory, not run: a payment's IPN is queued after commit, as with Redis, and
    # delivering it is the workers' job, not the web process's.
    settings.update(
        {
            "sqlalchemy.url": database_url,
            "sandbox.enabled": "false",
            "huey.backend": "memory",
            "huey.immediate": "false",
        }
    )
    if database_url.startswith("postgresql"):  # production.ini's pool: its size and its pre-ping
        production = get_appsettings(str(ROOT / "production.ini"))
        pool = ("sqlalchemy.pool_", "sqlalchemy.max_overflow")
        settings.update({key: value for key, value in production.items() if key.startswith(pool)})
    engine = get_engine(settings)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        alembic = AlembicConfig(str(ROOT / "testing.ini"))
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, "head")
    with get_session_factory(engine)() as session, session.begin():
        back_ok = "http://127.0.0.1:9/ok"
        config = Config(name="Bench", url_ipn="http://127.0.0.1:9/ipn", url_back_ok=back_ok)
        session.add(config)
        session.flush()
        spec = {
            "config_id": config.id,
            "key": config.key_request,
            "run": f"r{int(time.time())}",
            "url_back_ok": back_ok,
            "sha_out": settings["postfinance.test.sha_out"],
            "algorithm": settings.get("postfinance.hash", "sha512"),
        }
    engine.dispose()
    (folder / "settings.json").write_text(json.dumps(settings))
    return settings, spec


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_load(port, kind, clients, seconds, spec) -> dict:
    command = [
        sys.executable,
        __file__,
        "load",
        str(port),
        kind,
        str(clients),
        str(seconds),
        json.dumps(spec),
    ]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


@contextmanager
def serving(database_url: str, threads: int):
    """The app and the one-view app in a waitress process of their own; yields (port, spec)."""
    with tempfile.TemporaryDirectory() as folder:
        _settings, spec = prepare(database_url, Path(folder))
        port = free_port()
        settings_file = str(Path(folder) / "settings.json")
        command = [sys.executable, __file__, "serve", settings_file, str(port), str(threads)]
        server = subprocess.Popen(command)  # noqa: S603 (our own argv)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            yield port, spec
        finally:
            server.terminate()
            server.wait(timeout=30)


def measure(label: str, database_url: str, args) -> dict:
    with serving(database_url, args.threads) as (port, spec):
        for kind in KINDS:  # warm-up: imports, pools, caches
            run_load(port, kind, args.clients, 1.0, {**spec, "run": spec["run"] + "w"})
        totals = {kind: [] for kind in KINDS}
        for round_ in range(args.rounds):
            for kind in KINDS:
                spec_round = {**spec, "run": f"{spec['run']}-{round_}"}
                totals[kind].append(run_load(port, kind, args.clients, args.seconds, spec_round))
    result = {"database": label}
    for kind, rounds in totals.items():
        requests = sum(r["requests"] for r in rounds)
        pooled = sorted(latency for r in rounds for latency in r["latencies_ms"])
        result[kind] = {
            "rps": requests / sum(r["seconds"] for r in rounds),
            "p50": percentile(pooled, 0.50),
            "p99": percentile(pooled, 0.99),  # of every answer of every round
            "worst_round_p99": max(percentile(sorted(r["latencies_ms"]), 0.99) for r in rounds),
            "errors": sum(r["errors"] for r in rounds),
            "requests": requests,
        }
    return result


def report(result: dict, clients: int) -> None:
    bare, floor, start = result["bare"], result["floor"], result["start"]
    ratio = start["rps"] / bare["rps"]
    print(f"\n{result['database']}: {clients} concurrent clients")
    head = ("req/s", "p50 ms", "p99 ms", "worst p99", "non-200", "/ bare")
    print(f"  {'':22}" + "".join(f"{word:>10}" for word in head))
    rows = (("bare Pyramid view", bare), ("floor (driver only)", floor), ("/paiements/start/", start))
    for name, row in rows:
        print(
            f"  {name:22}{row['rps']:10.0f}{row['p50']:10.1f}{row['p99']:10.1f}"
            f"{row['worst_round_p99']:10.1f}{row['errors']:10d}{row['rps'] / bare['rps']:10.2f}"
        )
    ok_ratio, ok_p99 = ratio >= TARGET_RATIO, start["p99"] < TARGET_P99_MS
    verdict = {True: "met", False: "NOT met"}
    print(f"  start/bare throughput ratio {ratio:.2f} (target >= {TARGET_RATIO}: {verdict[ok_ratio]})")
    print(
        f"  start p99 {start['p99']:.1f} ms over all rounds (target < {TARGET_P99_MS:.0f} ms: "
        f"{verdict[ok_p99]}); worst single round {start['worst_round_p99']:.1f} ms"
    )
    print(f"  start/floor throughput ratio {start['rps'] / floor['rps']:.2f} (what PolyBanking adds)")


def run_open(port: int, kind: str, rate: float, seconds: float, spec: dict) -> dict:
    command = [sys.executable, __file__, "open", str(port), kind, str(rate), str(seconds), json.dumps(spec)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)  # noqa: S603


def measure_open(label: str, database_url: str, args) -> list[tuple[str, float, str, dict]]:
    """Open loop: the bare view and starts at ``--rate``, the bare view at four times
    ``--payment-rate`` (a payment's requests a second) and whole payments at ``--payment-rate``."""
    runs = [
        ("bare", args.rate),
        ("start", args.rate),
        ("bare", 4 * args.payment_rate),
        ("payment", args.payment_rate),
    ]
    results = []
    with serving(database_url, args.threads) as (port, spec):
        for kind in ("bare", "start", "payment"):  # warm-up: imports, pools, caches
            run_open(port, kind, 20, 1.0, {**spec, "run": f"{spec['run']}-w{kind}"})
        for number, (kind, rate) in enumerate(runs):
            result = run_open(port, kind, rate, args.duration, {**spec, "run": f"{spec['run']}-{number}"})
            results.append((kind, rate, label, result))
    return results


def report_open(results: list[tuple[str, float, str, dict]], seconds: float) -> bool:
    """Prints p50/p99/max of each step beside the bare view's at the same rate; True if targets met."""
    ok = True
    label = results[0][2]
    print(f"\n{label}: open loop, {seconds:.0f} s a run, latency from each request's due time")
    head = ("rate/s", "answers", "p50 ms", "p99 ms", "max ms", "errors", "late")
    print(f"  {'':24}" + "".join(f"{word:>9}" for word in head))
    for kind, rate, _label, result in results:
        for step, values in result["latencies"].items():
            latencies = sorted(values)
            target = OPEN_TARGETS_MS.get(kind)
            p99 = percentile(latencies, 0.99)
            name = f"{kind}: {step}" if kind == "payment" else kind
            worst = latencies[-1] if latencies else 0.0
            print(
                f"  {name:24}{rate:9.0f}{len(latencies):9d}{percentile(latencies, 0.5):9.1f}{p99:9.1f}"
                f"{worst:9.1f}{len(result['errors']):9d}{result['late_sends']:9d}"
                + (f"   target p99 < {target:.0f} ms" if target else "")
            )
            expected = int(rate * seconds)
            if target and (p99 >= target or result["errors"] or len(latencies) < expected):
                ok = False
        for error in sorted(set(result["errors"]))[:3]:
            print(f"    error: {error}")
    print("  open-loop targets met" if ok else "  open-loop TARGETS NOT MET")
    return ok


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        return serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if len(sys.argv) > 1 and sys.argv[1] == "open":
        from open_loop import open_loop

        port, kind, rate, seconds, spec = sys.argv[2:7]
        print(json.dumps(open_loop(int(port), kind, float(rate), float(seconds), json.loads(spec))))
        return None
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        port, kind, clients, seconds, spec = sys.argv[2:7]
        print(json.dumps(load(int(port), kind, int(clients), float(seconds), json.loads(spec))))
        return None
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgresql", default=os.environ.get("PB_BENCH_DATABASE_URL", ""), help="database URL"
    )
    parser.add_argument("--sqlite", action="store_true", help="also SQLite when --postgresql is given")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (production.ini: 8)")
    parser.add_argument("--open-loop", action="store_true", help="requests on a schedule (see open_loop.py)")
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: starts a second")
    parser.add_argument("--payment-rate", type=float, default=50.0, help="open loop: whole payments a second")
    parser.add_argument("--duration", type=float, default=60.0, help="open loop: seconds a run")
    args = parser.parse_args()
    runs = []
    if args.sqlite or not args.postgresql:
        runs.append(("SQLite", None))
    if args.postgresql:
        runs.append(("PostgreSQL", args.postgresql))
    for label, url in runs:
        with tempfile.TemporaryDirectory() as folder:
            url = url or f"sqlite:///{folder}/bench.sqlite"
            if args.open_loop:
                report_open(measure_open(label, url, args), args.duration)
            else:
                report(measure(label, url, args), args.clients)
    return None


if __name__ == "__main__":
    main()
