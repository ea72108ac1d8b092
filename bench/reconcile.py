"""Benchmark of the reconciliation (issue 6): a PostFinance report of N lines (default 1 000 000)
against N transactions in SQLite; with ``--platform checkout``, Checkout's transaction export of N
lines against N transactions of a Checkout config (issue 14: the same bar for both platforms).

Prints the comparison's time as a ratio to a bare ``csv.reader`` pass over the same file, measured
in the same run (best of ``--rounds``, alternating), and the comparison's peak memory (the maximum
resident size of the process that runs it, interpreter included). Targets: at most 5x, under 1 GB.

    .venv/bin/python bench/reconcile.py [--lines 1000000] [--rounds 2] [--keep] [--platform checkout|both]

``--platform both`` measures the two side by side (alternating) and prints, besides each one's
ratio, the time of Checkout's comparison over e-payment's for as many payments: the narrow export
(7 columns) is read by ``csv.reader`` about 3.5 times faster than the 45-column report, so the ratio
to it says more about the file's width than about the comparison.

Everything it writes goes to a temporary folder, removed at the end unless ``--keep``. Each
measurement runs in a fresh child process, so memory figures are the measured step's own.
"""

import argparse
import csv
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = (
    "Id;REF;ORDER;STATUS;LIB;ACCEPT;NCID;NCSTER;PAYDATE;CIE;FACNAME1;COUNTRY;TOTAL;CUR;METHOD;BRAND;CARD;"
    "EXPDATE;UID;STRUCT;FILEID;ACTION;TICKET;DESC;SHIP;TAX;USERID;MERCHREF;REFID;REFKIND;ECI;CCCTY;IPCTY;"
    "CVCCHECK;AAVCHECK;VC;BATCHREF;OWNER;ALIAS;FRAUD_TYPE;BINCARD;REC_IPADDR;PAYDATETIME;ORDERDATETIME;"
    "SUBBRAND;"
)
PAYID_BASE = 3_100_000_000
CHECKOUT_HEADER = "id,merchantReference,state,authorizationAmount,currency,createdOn,refundedAmount"
CHECKOUT_BASE = 40_000_000


def day_of(i: int, n: int) -> int:
    """Orders spread over 1-28 March 2026, in the order of their ids (as the gateway creates them)."""
    return 1 + (i - 1) * 28 // n


def generate(folder: Path, n: int, platform: str = "epayment") -> tuple[Path, Path]:
    """The database (N transactions, forwarded in March 2026) and the report (or, for Checkout, the
    export) beside it.

    Most orders match; per thousand: one differs (status), one is only in PolyBanking, one is only
    in the report, one is another system's, and one order has two lines (PAYIDSUB 0 and 1; for
    Checkout, the same transaction listed twice).
    """
    checkout = platform == "checkout"
    from sqlalchemy import create_engine

    from polybanking.models import Base

    db = folder / "bench.sqlite"
    engine = create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    engine.dispose()
    rng = random.Random(6)
    amounts = [rng.randrange(100, 500_000) for _ in range(n + 1)]

    connection = sqlite3.connect(db)
    connection.execute(
        "INSERT INTO configs (id, name, active, admin_enable, test_mode, url_ipn, url_back_ok, "
        'url_back_err, key_request, key_ipn, key_api, "group", created_at, platform) VALUES '
        "(1, 'Bench', 1, 1, 1, '', '', '', 'k', 'k', 'k', '', '2026-03-01 00:00:00.000000', ?)",
        (platform,),
    )

    def rows():
        for i in range(1, n + 1):
            when = f"2026-03-{day_of(i, n):02d} 10:00:00.000000"
            status = "9"
            yield (
                i,
                1,
                f"order-{i}",
                "",
                amounts[i],
                f"token-{i}",
                str((CHECKOUT_BASE if checkout else PAYID_BASE) + i),
                0,
                status,
                "fb",
                "VISA",
                "XXXXXXXXXXXX1111",
                0,
                when,
                when,
                when,
                when,
                0,
                0,
                0,
                0,
            )

    connection.executemany(
        "INSERT INTO transactions (id, config_id, reference, extra_data, amount, token, postfinance_id, "
        "postfinance_id_sub, postfinance_status, internal_status, brand, card, flagged, creation_date, "
        "last_userforwarded_date, last_user_back_from_postfinance_date, last_postfinance_ipn_date, "
        "ipn_needed, ipn_attempts, ipn_failed, directlink_attempts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    connection.commit()
    connection.close()

    if checkout:
        return db, checkout_export(folder, n, amounts)
    report = folder / "report.csv"
    with report.open("w", encoding="utf-8", newline="") as out:
        out.write("Transactions\r\n" + HEADER + "\r\n")
        for i in range(1, n + 1):
            ref, payid, sub, status, cents = f"polybanking-{i}", PAYID_BASE + i, 0, "9", amounts[i]
            kind = i % 1000
            if kind == 0:
                status = "8"  # refunded at PostFinance, PolyBanking never heard of it
            elif kind == 1:
                ref = f"webshop-{i}"  # another system's order; transaction i is only in PolyBanking
            elif kind == 3:
                ref, payid, sub, cents = f"polybanking-{i - 1}", PAYID_BASE + i - 1, 1, amounts[i - 1]
            elif kind == 4:
                ref = f"polybanking-{n + i}"  # unknown to PolyBanking
            day = f"{day_of(i, n)}/3/2026"
            stamp = f"{day_of(i, n):02d}/03/2026 11:00:00"
            out.write(
                f"{payid}/{sub};{ref};{day};{status};Payment requested;test123;{payid};0/0;{day};;;CH;"
                f"{cents // 100},{cents % 100:02d};CHF;CreditCard;VISA;XXXXXXXXXXXX1111;12 29;17538877;/;;"
                f"SAS;;;;;PSPID;;;PSPID;7;CH;CH;NO;NO;NO;;Shopper Name {i};;;;;{stamp};{stamp};;\r\n"
            )
    return db, report


def checkout_export(folder: Path, n: int, amounts: list[int]) -> Path:
    """Checkout's export of the same orders, as its API writes it (comma-separated, UTC times)."""
    export = folder / "export.csv"
    with export.open("w", encoding="utf-8", newline="") as out:
        out.write(CHECKOUT_HEADER + "\r\n")
        for i in range(1, n + 1):
            ref, checkout_id, state, cents = f"polybanking-{i}", CHECKOUT_BASE + i, "FULFILL", amounts[i]
            kind = i % 1000
            if kind == 0:
                state = "DECLINE"  # declined at Checkout, PolyBanking never heard of it
            elif kind == 1:
                ref = f"webshop-{i}"  # another system's order; transaction i is only in PolyBanking
            elif kind == 3:
                ref, checkout_id, cents = f"polybanking-{i - 1}", CHECKOUT_BASE + i - 1, amounts[i - 1]
            elif kind == 4:
                ref = f"polybanking-{n + i}"  # unknown to PolyBanking
            out.write(
                f"{checkout_id},{ref},{state},{cents // 100}.{cents % 100:02d},CHF,"
                f"2026-03-{day_of(i, n):02d}T10:00:00.000Z,0\r\n"
            )
    return export


def measure_baseline(report: str) -> dict:
    start = time.perf_counter()
    count = 0
    with open(report, encoding="utf-8", newline="") as stream:
        delimiter = "," if stream.readline().startswith("id,") else ";"
        stream.seek(0)
        for _row in csv.reader(stream, delimiter=delimiter):
            count += 1
    return {"seconds": time.perf_counter() - start, "rows": count}


def measure_compare(report: str, db: str) -> dict:
    import transaction

    from polybanking.models import get_engine, get_session_factory, get_tm_session
    from polybanking.services.reconcile.runs import reconcile_file
    from polybanking.settings import load

    settings = load(
        {
            "polybanking.base_url": "http://127.0.0.1:6543",
            "postfinance.test.pspid": "x",
            "postfinance.test.sha_in": "x",
            "postfinance.test.sha_out": "x",
            "postfinance.test.url": "http://127.0.0.1:6543/",
        }
    )
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{db}"})
    factory = get_session_factory(engine)
    start = time.perf_counter()
    manager = transaction.TransactionManager(explicit=True)
    with manager, open(report, "rb") as stream:
        outcome = reconcile_file(
            get_tm_session(factory, manager),
            settings,
            stream,
            "report.csv",
            live=False,
            actor="bench",
            source="command",
        )
        run = outcome.run
        result = {
            "seconds": 0.0,
            "error": run.error,
            "lines": run.report_lines,
            "same": run.same_count,
            "different": run.different_count,
            "only_report": run.only_report_count,
            "only_polybanking": run.only_polybanking_count,
            "foreign": run.foreign_count,
        }
    result["seconds"] = time.perf_counter() - start
    engine.dispose()
    return result


def child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def summary(platform: str, baselines: list[dict], comparisons: list[dict]) -> tuple[bool, float]:
    """Print one platform's figures; (whether its targets hold, its best comparison's seconds)."""
    base = min(b["seconds"] for b in baselines)
    best = min(comparisons, key=lambda c: c["seconds"])
    peak = max(c["peak_mb"] for c in comparisons)
    ratio = best["seconds"] / base
    counts = {
        k: best[k] for k in ("lines", "same", "different", "only_report", "only_polybanking", "foreign")
    }
    print(f"{platform}: result: {counts}")
    print(f"  bare csv.reader pass: {base:.2f} s (peak {max(b['peak_mb'] for b in baselines):.0f} MB)")
    print(f"  comparison (read + compare + store): {best['seconds']:.2f} s")
    print(f"  ratio: {ratio:.2f}x (target <= 5x)   peak memory: {peak:.0f} MB (target < 1024 MB)")
    ok = ratio <= 5 and peak < 1024 and not best["error"]
    print("  PASS" if ok else "  FAIL")
    return ok, best["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--platform", choices=("epayment", "checkout", "both"), default="epayment")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *paths = args.child
        result = measure_baseline(*paths) if kind == "baseline" else measure_compare(*paths)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0

    platforms = ("epayment", "checkout") if args.platform == "both" else (args.platform,)
    folder = Path(tempfile.mkdtemp(prefix="pb-bench-reconcile-"))
    try:
        files = {}
        for platform in platforms:
            started = time.perf_counter()
            (folder / platform).mkdir()
            files[platform] = generate(folder / platform, args.lines, platform)
            print(
                f"{platform}: generated {args.lines} transactions and a "
                f"{files[platform][1].stat().st_size / 1e6:.0f} MB report "
                f"in {time.perf_counter() - started:.0f} s ({folder / platform})"
            )
        baselines = {platform: [] for platform in platforms}
        comparisons = {platform: [] for platform in platforms}
        for round_ in range(1, args.rounds + 1):  # the platforms alternate: one noise for both
            for platform in platforms:
                db, report = files[platform]
                baselines[platform].append(child("baseline", str(report)))
                comparisons[platform].append(child("compare", str(report), str(db)))
                base, compared = baselines[platform][-1]["seconds"], comparisons[platform][-1]["seconds"]
                print(
                    f"round {round_}, {platform}: csv.reader {base:.2f} s, comparison {compared:.2f} s "
                    f"({compared / base:.2f}x), peak {comparisons[platform][-1]['peak_mb']:.0f} MB"
                )
        results = {
            platform: summary(platform, baselines[platform], comparisons[platform]) for platform in platforms
        }
        if len(platforms) == 2:
            per_payment = results["checkout"][1] / results["epayment"][1]
            print(f"checkout/epayment comparison time for as many payments: {per_payment:.2f}")
        return 0 if all(ok for ok, _seconds in results.values()) else 1
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
