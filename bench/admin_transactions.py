"""The admin transaction list over 100 000 transactions (or ``--rows``): each page type timed side by side.

    .venv/bin/python bench/admin_transactions.py [--rows 1000000]    # SQLite in a temporary folder
    PB_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/pb_bench \
        .venv/bin/python bench/admin_transactions.py

Builds the schema with the migrations, inserts the transactions over 20 configs (a year of
them, various statuses), then requests each page in-process (WebTest, the full Pyramid stack:
session, ACLs, SQL, Jinja) and prints the median time and its ratio to the sign-in page, which
runs no query. On SQLite it then times the reference search without the trigram index of
migration 0012_reference_search, and that migration's run on the filled table. Then it drops the
two indexes of migration 0004_admin and times the list pages again, to show what they buy. The
PostgreSQL database named is emptied first.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import webtest
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from pyramid.paster import get_appsettings
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from polybanking import main  # noqa: E402
from polybanking.auth.passwords import hash_password  # noqa: E402
from polybanking.models import Config, Transaction, User, config_allowed_users, get_engine  # noqa: E402
from tests.conftest import run_migrations  # noqa: E402

TRANSACTIONS = 100_000
CONFIGS = 20
ROUNDS = 15
STATUSES = ["9", "9", "9", "5", "2", "1", "92", None]


def database_url(folder: str) -> str:
    url = os.environ.get("PB_BENCH_DATABASE_URL")
    if url:
        if url.rstrip("/").endswith("/test"):
            sys.exit("use a database of your own, not 'test'")
        return url
    return f"sqlite:///{folder}/bench.sqlite"


def fill(engine, rows: int) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    run_migrations(engine)
    start = datetime(2025, 11, 27, tzinfo=UTC)
    step = timedelta(days=365) / rows
    with engine.begin() as connection:
        connection.execute(
            insert(Config),
            [
                {
                    "id": n,
                    "name": f"Site {n:02d}",
                    "key_request": f"r{n}",
                    "key_ipn": f"i{n}",
                    "key_api": f"a{n}",
                    "url_ipn": "http://127.0.0.1:9/ipn",
                    "created_at": start,
                }
                for n in range(1, CONFIGS + 1)
            ],
        )
        password = hash_password("benchmark password")
        connection.execute(
            insert(User),
            [
                {"id": 1, "username": "root", "password_hash": password, "is_superuser": True},
                {"id": 2, "username": "webmaster", "password_hash": password, "is_superuser": False},
            ],
        )
        connection.execute(insert(config_allowed_users), [{"config_id": 7, "user_id": 2}])
        batch = []
        for n in range(rows):
            batch.append(
                {
                    "config_id": n % CONFIGS + 1,
                    "reference": f"order-{n:06d}",
                    "amount": 500 + n % 10_000,
                    "token": f"t{n}",
                    "creation_date": start + step * n,
                    "postfinance_status": STATUSES[n % len(STATUSES)],
                    "internal_status": "fb",
                    "ipn_needed": n % 997 == 0,
                    "ipn_attempts": 3 if n % 997 == 0 else 1,
                }
            )
            if len(batch) == 10_000:
                connection.execute(insert(Transaction), batch)
                batch = []
        if connection.dialect.name != "postgresql":
            connection.execute(text("ANALYZE"))  # planner statistics, as a live database has them
    if engine.dialect.name == "postgresql":
        # Statistics and the visibility map, as autovacuum keeps them on a live database (without
        # it, an index-only scan still reads every row's page to check it is visible).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def signed_in(app, username: str) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    page = client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/admin/login", {"username": username, "password": "benchmark password", "csrf_token": token})
    return client


def median_ms(client, path: str) -> float:
    client.get(path)  # warm up (templates compiled, caches filled)
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_int == 200, (path, answer.status_int)
    return statistics.median(times) * 1000


def migrate(engine, direction: str, revision: str) -> float:
    """Seconds to run the migrations ``direction`` to ``revision`` on the filled database."""
    alembic_config = AlembicConfig(str(ROOT / "testing.ini"))
    started = time.perf_counter()
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        getattr(alembic_command, direction)(alembic_config, revision)
    return time.perf_counter() - started


def search_without_index(engine, client, pages, results, baseline) -> None:
    """SQLite: the reference search without the trigram index of migration 0012_reference_search
    (one pass over the references), then that migration's time on this filled database."""
    dropped = migrate(engine, "downgrade", "0011_ipn_format")
    print("\nwithout the trigram index of migration 0012_reference_search (SQLite):")
    for label, _client, path in pages:
        if label.startswith("reference search"):
            value = median_ms(client, path)
            ratio = value / results[label]
            print(f"{label:46} {value:10.1f} {value / baseline:11.1f}   (without/with: {ratio:.1f})")
    built = migrate(engine, "upgrade", "head")
    print(f"migration 0012_reference_search on these rows: {built:.1f} s (its downgrade: {dropped:.1f} s)")
    without, with_index = insert_cost(engine)
    print(
        f"a transaction inserted and committed alone (as a start does): {without:.0f} µs without"
        f" the index's triggers, {with_index:.0f} µs with them (+{with_index - without:.0f} µs)"
    )


def insert_cost(engine, blocks: int = 4, size: int = 500) -> tuple[float, float]:
    """Median µs per one-row transaction (inserted, committed: synchronous=FULL as the app's
    engine sets it), in blocks alternately without and with the reference index's triggers."""
    with engine.connect() as connection:
        triggers = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'transactions'")
        ).all()
    times: dict[bool, list[float]] = {False: [], True: []}
    for block in range(2 * blocks):
        indexed = block % 2 == 1
        if not indexed:  # rows neither indexed nor unindexed by the triggers: the index stays whole
            with engine.begin() as connection:
                for name, _sql in triggers:
                    connection.execute(text(f"DROP TRIGGER {name}"))
        with engine.connect() as connection:
            for n in range(size):
                started = time.perf_counter()
                connection.execute(
                    insert(Transaction), {**new_row(n, block), "creation_date": datetime.now(UTC)}
                )
                connection.commit()
                times[indexed].append(time.perf_counter() - started)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM transactions WHERE reference LIKE 'insert-cost-%'"))
            if not indexed:
                for _name, sql in triggers:
                    connection.execute(text(sql))
    return statistics.median(times[False]) * 1e6, statistics.median(times[True]) * 1e6


def new_row(n: int, block: int) -> dict:
    return {"config_id": 1, "reference": f"insert-cost-{block}-{n}", "amount": 500, "token": f"ic{block}x{n}"}


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=TRANSACTIONS)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as folder:
        url = database_url(folder)
        settings = dict(get_appsettings(str(ROOT / "testing.ini")))
        settings["sqlalchemy.url"] = url
        engine = get_engine(settings)
        started = time.perf_counter()
        fill(engine, rows)
        print(
            f"{engine.dialect.name}: {rows} transactions in {CONFIGS} configs, "
            f"filled in {time.perf_counter() - started:.1f} s"
        )
        app = main({}, **settings)
        root, webmaster = signed_in(app, "root"), signed_in(app, "webmaster")
        anonymous = webtest.TestApp(app)

        baseline = median_ms(anonymous, "/admin/login")
        pages = [
            ("sign-in page (no query: the baseline)", anonymous, "/admin/login"),
            ("list, newest first, page 1", root, "/admin/transactions/"),
            ("list, page 100 (OFFSET 4 950)", root, "/admin/transactions/?page=100"),
            ("list, ?page=last (served: the 200th)", root, f"/admin/transactions/?page={rows // 50}"),
            ("one config", root, "/admin/transactions/?config=7"),
            ("one config, paid only", root, "/admin/transactions/?config=7&status=good"),
            ("status: IPN failing", root, "/admin/transactions/?status=ipn_failing"),
            ("status: waiting at PostFinance", root, "/admin/transactions/?status=pending"),
            ("status: refused (2)", root, "/admin/transactions/?status=2"),
            ("status: no answer yet", root, "/admin/transactions/?status=none"),
            ("status: flagged (none are)", root, "/admin/transactions/?status=flagged"),
            ("date range (one month)", root, "/admin/transactions/?from=2026-03-01&to=2026-03-31"),
            ("reference search", root, "/admin/transactions/?q=order-0421"),
            ("reference search, no match", root, "/admin/transactions/?q=no-such-order"),
            ("user allowed on one config", webmaster, "/admin/transactions/"),
            ("home page (attention)", root, "/admin/"),
            ("transaction detail", root, "/admin/transactions/4242/"),
        ]
        results = {}
        print(f"\n{'page':46} {'median ms':>10} {'× baseline':>11}")
        for label, client, path in pages:
            value = baseline if client is anonymous else median_ms(client, path)
            results[label] = value
            print(f"{label:46} {value:10.1f} {value / baseline:11.1f}")

        if engine.dialect.name == "sqlite":
            search_without_index(engine, root, pages, results, baseline)
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_transactions_config_created"))
            connection.execute(text("DROP INDEX ix_transactions_created_id"))
        print("\nwithout the two indexes of migration 0004_admin:")
        for label, client, path in pages:
            if client is not anonymous and "list" in label or "config" in label:
                value = median_ms(client, path)
                ratio = value / results[label]
                print(f"{label:46} {value:10.1f} {value / baseline:11.1f}   (without/with: {ratio:.1f})")
        slowest = max(results, key=results.get)
        print(f"\nslowest admin page: {slowest}, {results[slowest]:.0f} ms (target, issue 18: under 100 ms)")
        app.registry["dbengine"].dispose()
        engine.dispose()


if __name__ == "__main__":
    main_bench()
