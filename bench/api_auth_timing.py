"""How long the API's credential check takes, by kind of wrong credential, measured side by side.

    .venv/bin/python -m bench.api_auth_timing

PROTOCOL §7 and the issue ask for a check in constant time: a secret wrong at its first character
must cost what one wrong at its last does, and an unknown config what a known one does (so timing
reveals neither the key nor which config ids exist). Prints each case's median time as a ratio to
a wrong secret's, interleaving the cases round by round so the machine's noise hits all alike.
The naive ``==`` comparison is measured the same way, to show what an early exit looks like.
"""

import contextlib
import random
import statistics
import time

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from polybanking.models import Base, Config
from polybanking.services.payments.api import ApiRefused, authenticate

ROUNDS = 2000


def _timed(function) -> float:
    start = time.perf_counter_ns()
    with contextlib.suppress(ApiRefused):
        function()
    return time.perf_counter_ns() - start


def main() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        config = Config(name="bench")
        session.add(config)
        session.commit()
        key, config_id = config.key_api, str(config.id)
        flip = {"0": "1"}.get
        cases = {
            "correct secret": (config_id, key),
            "first character wrong": (config_id, (flip(key[0]) or "0") + key[1:]),
            "last character wrong": (config_id, key[:-1] + (flip(key[-1]) or "0")),
            "unknown config": ("999999", key),
            "config_id not a number": ("abc", key),
        }
        long_key = key * 2000  # a long secret makes the early exit of == measurable
        naive = {
            "naive == first wrong": (flip(long_key[0]) or "0") + long_key[1:],
            "naive == last wrong": long_key[:-1] + (flip(long_key[-1]) or "0"),
        }
        times: dict[str, list[int]] = {name: [] for name in [*cases, *naive]}
        order = list(cases)
        for _ in range(ROUNDS):
            random.shuffle(order)  # no case always follows the same one (caches, allocator)
            for name in order:
                cid, secret = cases[name]
                session.expire_all()
                times[name].append(_timed(lambda cid=cid, secret=secret: authenticate(session, cid, secret)))
            for name, secret in naive.items():
                times[name].append(_timed(lambda secret=secret: secret == long_key))

    base = statistics.median(times["last character wrong"])
    print(f"median of {ROUNDS} rounds, as a ratio to 'last character wrong' ({base / 1000:.1f} µs):")
    for name in cases:
        print(f"  {name:26s} {statistics.median(times[name]) / base:5.2f}")
    naive_first = statistics.median(times["naive == first wrong"])
    naive_last = statistics.median(times["naive == last wrong"])
    print("(The correct secret then loads the config; a config_id that is not a number asks no query.)")
    print("For comparison, == on a 256 kB secret, first character wrong / last character wrong:")
    print(f"  {'naive ==':26s} {naive_first / naive_last:5.2f}")


if __name__ == "__main__":
    main()
