"""Where a start's CPU goes beyond the floor's, measured side by side in one process (issue 18).

    .venv/bin/python bench/start_profile.py [--postgresql URL] [--requests 3000]

`http_load.py` measures `/paiements/start/` against the floor (a start's reads and writes through
the database driver alone) over HTTP. At saturation the server is CPU-bound, so their throughput
ratio is the ratio of their CPU per request. This script serves the same three apps in-process
(the bare view, the floor, the whole PolyBanking app as `http_load.py` builds them), calls each in
alternating blocks, and prints the CPU time per request of each and the floor/start ratio (the
saturation ratio the CPU alone allows). Then it profiles one block of each with cProfile and
prints each one's own time grouped by the package it is spent in: what start pays beyond the floor,
package by package. The profiler's overhead inflates every figure alike; its groups are shares,
the unprofiled CPU times are the measurement. The PostgreSQL database given is emptied.
"""

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import webtest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from http_load import bare_app, prepare, start_body  # noqa: E402

BLOCK = 250
KINDS = {"bare": "/bare/", "floor": "/floor/", "start": "/paiements/start/"}
#: Packages grouped by what they are, for the profile's table.
GROUPS = {
    "pyramid_tm": "transaction manager (pyramid_tm, transaction, zope)",
    "transaction": "transaction manager (pyramid_tm, transaction, zope)",
    "zope": "transaction manager (pyramid_tm, transaction, zope)",
    "sqlalchemy": "SQLAlchemy",
    "psycopg": "database driver",
    "sqlite3": "database driver",
    "pyramid": "Pyramid",
    "webob": "WebOb",
    "webtest": "WSGI client (the same for all)",
    "polybanking": "PolyBanking's own code",
    "pyramid_jinja2": "Pyramid",
}


def group_of(filename: str, function: str) -> str:
    if filename == "~":  # a builtin: its name says whose it is
        if "sqlite3" in function or "psycopg" in function:
            return "database driver"
        return "builtins (C)"
    parts = Path(filename).parts
    for index, part in enumerate(parts):
        if part in ("site-packages", "polybanking") and index + 1 < len(parts):
            package = parts[index + 1] if part == "site-packages" else "polybanking"
            return GROUPS.get(package.split(".")[0], f"other: {package}")
    return "standard library"


def run(database_url: str, requests: int) -> None:
    from polybanking import main

    with tempfile.TemporaryDirectory() as folder:
        settings, spec = prepare(database_url, Path(folder))
        gateway = webtest.TestApp(main({}, **settings))
        bare = webtest.TestApp(bare_app(settings["sqlalchemy.url"]))
        apps = {"bare": bare, "floor": bare, "start": gateway}
        counter = [0]

        def call(kind: str) -> None:
            counter[0] += 1
            body = b"" if kind == "bare" else start_body(spec, f"{spec['run']}-{kind}-{counter[0]}")
            answer = apps[kind].post(KINDS[kind], body, content_type="application/x-www-form-urlencoded")
            assert answer.status_int == 200 and b'"OK"' in answer.body, answer.body[:200]

        for kind in KINDS:  # warm up: compiled statements, connections, caches
            for _ in range(50):
                call(kind)
        cpu = dict.fromkeys(KINDS, 0.0)
        done = dict.fromkeys(KINDS, 0)
        for _round in range(max(1, requests // BLOCK)):
            for kind in KINDS:
                started = time.process_time()
                for _ in range(BLOCK):
                    call(kind)
                cpu[kind] += time.process_time() - started
                done[kind] += BLOCK
        per = {kind: cpu[kind] / done[kind] * 1e6 for kind in KINDS}
        engine = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
        print(f"\n{engine}: CPU per request (µs), {done['start']} requests each, alternating blocks")
        for kind in KINDS:
            print(f"  {kind:6} {per[kind]:8.0f}")
        floor_ratio, bare_ratio = per["floor"] / per["start"], per["bare"] / per["start"]
        print(f"  floor/start {floor_ratio:.2f}   bare/start {bare_ratio:.2f}")

        shares: dict[str, dict[str, float]] = {}
        for kind in ("floor", "start"):
            profile = cProfile.Profile(time.process_time)  # CPU, as the times above: never waits
            profile.enable()
            for _ in range(BLOCK):
                call(kind)
            profile.disable()
            grouped: dict[str, float] = defaultdict(float)
            functions: dict[str, float] = defaultdict(float)
            for (filename, line, function), row in pstats.Stats(profile).stats.items():
                grouped[group_of(filename, function)] += row[2]  # own time (tottime)
                functions[f"{Path(filename).name}:{line} {function}"] += row[2]
            total = sum(grouped.values())
            shares[kind] = {name: value / total * per[kind] for name, value in grouped.items()}
            heaviest = sorted(functions.items(), key=lambda item: -item[1])[:5]
            print(f"\n  {kind}'s heaviest functions (own time, µs per request):")
            for name, value in heaviest:
                print(f"    {value / total * per[kind]:6.0f}  {name[:100]}")
        print("\n  where the CPU goes (µs per request, the profile's shares of the times above)")
        print(f"  {'':52} {'floor':>7} {'start':>7} {'beyond':>7}")
        names = sorted(set(shares["floor"]) | set(shares["start"]), key=lambda n: -shares["start"].get(n, 0))
        for name in names:
            floor, start = shares["floor"].get(name, 0.0), shares["start"].get(name, 0.0)
            print(f"  {name:52} {floor:7.0f} {start:7.0f} {start - floor:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", metavar="URL", help="also on this PostgreSQL database (emptied)")
    parser.add_argument("--requests", type=int, default=3000, help="starts per kind (default 3000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.sqlite", args.requests)
    if args.postgresql:
        run(args.postgresql, args.requests)


if __name__ == "__main__":
    main()
