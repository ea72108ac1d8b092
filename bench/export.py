"""Benchmark: exporting transactions to CSV, against a bare SQL fetch written with csv.writer.

    python bench/export.py [--rows 1000000] [--database-url URL]

Fills a database (default: a temporary SQLite file; a PostgreSQL URL is emptied and refilled)
with ``--rows`` transactions over a year and ten configs, then runs, each in a fresh child process,
alternately: the bare path (one SELECT of the same columns and rows, ``csv.writer.writerows``) and
the export service (``polybanking.services.export.stream``, the code behind the CLI and the admin
page). It prints the rows per second of each (best of the rounds), their ratio, and the peak
resident memory of the export's process. Targets: ratio >= 0.5, peak < 200 MB.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from polybanking.models import Base, get_engine
from polybanking.services.transaction_fields import TRANSACTION_COLUMNS

START = datetime(2025, 1, 1, tzinfo=UTC)
CONFIGS = 10
RATIO_TARGET, MEMORY_TARGET_MB = 0.5, 200


def fill(url: str, rows: int) -> None:
    engine = get_engine({"sqlalchemy.url": url})
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rnd = random.Random(7)
    with engine.begin() as connection:
        for number in range(1, CONFIGS + 1):
            connection.execute(
                text("INSERT INTO configs (id, name, active, admin_enable, test_mode, url_ipn, url_back_ok, "
                     "url_back_err, key_request, key_ipn, key_api, \"group\", created_at) VALUES (:id, :name, "
                     "true, true, false, '', '', '', 'k', 'k', 'k', :group, :now)"),
                {"id": number, "name": f"Shop {number}", "group": f"Group {number % 3}", "now": START},
            )  # fmt: skip
    columns = ["id", "config_id", "reference", "extra_data", "amount", "token", "postfinance_id",
               "postfinance_status", "internal_status", "brand", "card", "flagged", "creation_date",
               "last_userforwarded_date", "last_user_back_from_postfinance_date", "last_postfinance_ipn_date",
               "last_ipn_date", "ipn_needed", "ipn_attempts", "ipn_failed"]  # fmt: skip
    sqlite = engine.dialect.name == "sqlite"

    def row(number: int) -> tuple:
        # As in life, ids follow time (with some jitter: concurrent payments), spread over a year.
        created = START + timedelta(seconds=number * 365 * 86400 // rows + rnd.random() * 5)
        paid = rnd.random() < 0.8
        later = created + timedelta(minutes=3)
        # SQLite keeps dates as text; written as SQLAlchemy writes them, so they compare alike.
        as_db = (lambda d: d.replace(tzinfo=None).isoformat(" ", "microseconds")) if sqlite else (lambda d: d)
        return (number, 1 + number % CONFIGS, f"order-{number}", f"ticket {number % 97}; size=M",
                rnd.randint(100, 200000), f"token-{number}", str(3000000 + number) if paid else None,
                "9" if paid else "1", "fb", "VISA" if paid else "", "xxxxxxxxxxxx1111" if paid else "",
                False, as_db(created), as_db(later), as_db(later) if paid else None,
                as_db(later) if paid else None, as_db(later) if paid else None, False, 1 if paid else 0,
                False)  # fmt: skip

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            placeholders = ", ".join("?" * len(columns))
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO transactions ({', '.join(columns)}) VALUES ({placeholders})",
                (row(n) for n in range(1, rows + 1)),
            )
        else:
            with cursor.copy(f"COPY transactions ({', '.join(columns)}) FROM STDIN") as copy:
                for n in range(1, rows + 1):
                    copy.write_row(row(n))
        raw.commit()
        if not sqlite:
            cursor.execute("ANALYZE transactions")
            raw.commit()
    finally:
        raw.close()
    engine.dispose()


def bare(url: str, path: str) -> int:
    """One SELECT of the export's columns and rows, written by csv.writer: the floor."""
    engine = get_engine({"sqlalchemy.url": url})
    columns = ", ".join(("config_id", *TRANSACTION_COLUMNS))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        start, end = START - timedelta(days=1), START + timedelta(days=367)
        if engine.dialect.name == "sqlite":
            marker, bounds = "?", [d.replace(tzinfo=None).isoformat(" ", "microseconds") for d in (start, end)]
        else:
            marker, bounds = "%s", [start, end]
        cursor.execute(
            f"SELECT {columns} FROM transactions WHERE creation_date >= {marker} AND creation_date < {marker} "
            "ORDER BY creation_date, id",
            bounds,
        )
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(("config_id", *TRANSACTION_COLUMNS))
            count = 0
            while batch := cursor.fetchmany(2000):
                writer.writerows(batch)
                count += len(batch)
        return count
    finally:
        raw.close()


def export(url: str, path: str) -> int:
    """The export service, as the CLI and the admin page run it."""
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session

    from polybanking.services import export as service
    from polybanking.services.period import custom_period

    engine = get_engine({"sqlalchemy.url": url})
    with Session(engine) as session:
        spec = service.build_spec(
            session, "csv", custom_period("2024-12-31", "2026-01-01", ZoneInfo("Europe/Zurich")), None
        )
    done = 0

    def progress(rows: int) -> None:
        nonlocal done
        done = rows

    with open(path, "wb") as file:
        for chunk in service.stream(engine, spec, progress):
            file.write(chunk)
    return done


def child(kind: str, url: str) -> None:
    path = tempfile.mktemp(suffix=".csv")
    started = time.perf_counter()
    rows = (bare if kind == "bare" else export)(url, path)
    seconds = time.perf_counter() - started
    size = os.path.getsize(path)
    os.unlink(path)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak_mb, "bytes": size}))


def run(kind: str, url: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--database-url", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=("bare", "export"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database_url)
        return 0

    folder = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite"
    started = time.perf_counter()
    fill(url, args.rows)
    print(f"database: {url.split('@')[-1]}; {args.rows} transactions filled in {time.perf_counter() - started:.1f} s")

    results: dict[str, list[dict]] = {"bare": [], "export": []}
    for round_ in range(args.rounds):
        for kind in ("bare", "export"):
            result = run(kind, url)
            results[kind].append(result)
            print(f"  round {round_ + 1} {kind:6}: {result['rows']} rows in {result['seconds']:.2f} s, "
                  f"peak {result['peak_mb']:.0f} MB, {result['bytes'] / 1e6:.0f} MB written")  # fmt: skip
    best = {kind: min(runs, key=lambda r: r["seconds"]) for kind, runs in results.items()}
    rates = {kind: best[kind]["rows"] / best[kind]["seconds"] for kind in best}
    ratio = rates["export"] / rates["bare"]
    peak = max(r["peak_mb"] for r in results["export"])
    print(f"bare SQL + csv.writer: {rates['bare']:,.0f} rows/s")
    print(f"export service (CSV):  {rates['export']:,.0f} rows/s")
    print(f"ratio export/bare: {ratio:.2f} (target >= {RATIO_TARGET})")
    print(f"export peak memory: {peak:.0f} MB (target < {MEMORY_TARGET_MB} MB)")
    ok = ratio >= RATIO_TARGET and peak < MEMORY_TARGET_MB and best["export"]["rows"] == args.rows
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
