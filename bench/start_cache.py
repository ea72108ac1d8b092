"""What the config cache of /paiements/start/ buys, measured side by side in one process (issue 18).

    .venv/bin/python bench/start_cache.py [--postgresql URL] [--starts 3000]

The whole app in-process (WebTest: the full Pyramid stack, pyramid_tm, the real statements), one
config, starts posted in alternating blocks with the cache in use and with it bypassed (every
start then reads the config row, as before the cache). Prints starts per second of wall time and
of this process's CPU time for each, and their ratio. The PostgreSQL database given is emptied.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import webtest
from pyramid.paster import get_appsettings
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from polybanking import main  # noqa: E402
from polybanking.models import Config, get_engine, get_session_factory  # noqa: E402
from polybanking.services.payments.config_cache import CONFIG_CACHE  # noqa: E402
from tests.conftest import run_migrations  # noqa: E402
from tests.website import start_params  # noqa: E402

BLOCK = 100


def prepared_app(url: str):
    settings = dict(get_appsettings(str(ROOT / "testing.ini")))
    settings.update({"sqlalchemy.url": url, "huey.backend": "memory", "huey.immediate": "false"})
    engine = get_engine(settings)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    run_migrations(engine)
    with get_session_factory(engine)() as session, session.begin():
        config = Config(name="Bench", url_ipn="http://127.0.0.1:9/ipn")
        session.add(config)
        session.flush()
        key = (config.id, config.key_request)
    engine.dispose()
    return webtest.TestApp(main({}, **settings)), key


def run(url: str, starts: int) -> None:
    app, (config_id, key) = prepared_app(url)
    config = type("Site", (), {"id": config_id, "key_request": key})
    real_get = CONFIG_CACHE.get
    totals = {"cached": [0.0, 0.0, 0], "uncached": [0.0, 0.0, 0]}
    n = 0
    for block in range(starts // BLOCK):
        mode = ("cached", "uncached")[block % 2]
        CONFIG_CACHE.get = real_get if mode == "cached" else (lambda config_id: None)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(BLOCK):
            n += 1
            answer = app.post("/paiements/start/", start_params(config, reference=f"b{n}"))
            assert answer.json["status"] == "OK"
        totals[mode][0] += time.perf_counter() - wall
        totals[mode][1] += time.process_time() - cpu
        totals[mode][2] += BLOCK
    CONFIG_CACHE.get = real_get
    print(f"\n{url.split(':')[0]}: {starts} starts, alternating blocks of {BLOCK}")
    for mode, (wall, cpu, count) in totals.items():
        print(
            f"  {mode:9} {count / wall:8.0f} starts/s (wall) {count / cpu:8.0f} starts/s"
            " (CPU of this process)"
        )
    cached, uncached = totals["cached"], totals["uncached"]
    print(f"  cached / uncached: {uncached[0] / cached[0]:.2f} (wall), {uncached[1] / cached[1]:.2f} (CPU)")


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", default="")
    parser.add_argument("--starts", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.sqlite", args.starts)
    if args.postgresql:
        run(args.postgresql, args.starts)


if __name__ == "__main__":
    main_bench()
