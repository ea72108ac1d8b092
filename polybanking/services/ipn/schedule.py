"""When to try an IPN again: the retry schedule of the ini, jitter, and the website's Retry-After.

Pure functions and one frozen dataclass: no database, no HTTP, so the schedule is tested with a
fake clock and a seeded random generator instead of sleeping.
"""

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from ...settings import SettingsError, allow_private_destinations

#: After the first try: about three days in all (the issue's default).
DEFAULT_SCHEDULE = "5s 5m 30m 2h 5h 10h 10h 14h 20h 24h"
DEFAULT_TIMEOUT = 10.0
DEFAULT_SCAN_INTERVAL = 60
DEFAULT_CONCURRENCY = 8
#: Each delay is moved by up to this fraction either way, so IPNs that failed together (a website
#: down for an hour) do not all come back in the same second.
DEFAULT_JITTER = 0.1

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_STEP = timedelta(days=30)
MAX_STEPS = 50
_STEP = re.compile(r"^(\d{1,7})([smhd]?)$")


def parse_schedule(text: str, key: str = "ipn.retry_schedule") -> tuple[timedelta, ...]:
    """``5s 5m 30m 2h`` → delays; a bare number is seconds. Raises SettingsError naming ``key``."""
    steps = []
    for item in text.replace(",", " ").split():
        match = _STEP.match(item.strip().lower())
        if not match:
            raise SettingsError(key, f"{item!r} is not a delay like 5s, 5m, 2h or 1d")
        step = timedelta(seconds=int(match.group(1)) * UNITS[match.group(2) or "s"])
        if not timedelta(0) < step <= MAX_STEP:
            raise SettingsError(key, f"{item!r} must be more than 0 and at most 30 days")
        steps.append(step)
    if not steps:
        raise SettingsError(key, "needs at least one delay (e.g. 5s 5m 30m)")
    if len(steps) > MAX_STEPS:
        raise SettingsError(key, f"at most {MAX_STEPS} delays")
    return tuple(steps)


def _number(raw: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    text = (raw.get(key) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(key, f"must be a number, not {text!r}") from None
    if not low <= value <= high:
        raise SettingsError(key, f"must be between {low:g} and {high:g}")
    return value


@dataclass(frozen=True)
class IpnPolicy:
    """How IPNs are delivered: ``ipn.retry_schedule``, ``ipn.timeout``, ``ipn.scan_interval``
    (seconds between scans of the outbox), ``ipn.concurrency`` (parallel posts per worker) and
    ``ipn.allow_private_destinations``. ``timeout`` bounds each attempt as a whole."""

    schedule: tuple[timedelta, ...] = parse_schedule(DEFAULT_SCHEDULE)
    timeout: float = DEFAULT_TIMEOUT
    scan_interval: int = DEFAULT_SCAN_INTERVAL
    concurrency: int = DEFAULT_CONCURRENCY
    jitter: float = DEFAULT_JITTER
    #: ``ipn.allow_private_destinations``: IPNs may go to loopback and private addresses
    #: (development, tests); off in production, where a config's URL must be a public address.
    allow_private: bool = False

    @property
    def max_attempts(self) -> int:
        """The first try and one per step of the schedule."""
        return 1 + len(self.schedule)

    @property
    def attempt_limit(self) -> float:
        """Seconds one attempt is budgeted when checking a claim: the attempt itself ends at
        ``timeout`` (sender.py), and as much again is margin for a loaded machine."""
        return 2 * self.timeout

    @property
    def claim_lease(self) -> timedelta:
        """How long a worker owns the IPNs it claimed; a crashed worker's claim expires after this.

        An IPN is posted only while a whole attempt still fits in its claim (``timeout`` + 5 s
        after claiming, for IPNs of a batch waiting their turn), so two workers never overlap.
        """
        return timedelta(seconds=3 * self.timeout + 5)


def load_policy(raw: Mapping[str, str]) -> IpnPolicy:
    """The checked ``ipn.*`` settings; fails fast naming the bad key."""
    schedule_text = (raw.get("ipn.retry_schedule") or "").strip() or DEFAULT_SCHEDULE
    return IpnPolicy(
        schedule=parse_schedule(schedule_text),
        timeout=_number(raw, "ipn.timeout", DEFAULT_TIMEOUT, 0.05, 300),
        scan_interval=int(_number(raw, "ipn.scan_interval", DEFAULT_SCAN_INTERVAL, 1, 3600)),
        concurrency=int(_number(raw, "ipn.concurrency", DEFAULT_CONCURRENCY, 1, 64)),
        allow_private=allow_private_destinations(raw),
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent or junk."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text[:9]))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(
    policy: IpnPolicy,
    failures: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> timedelta | None:
    """The wait after the ``failures``-th failed attempt in a row, or None when none is left.

    ``Retry-After`` is honoured within the schedule's bounds: it may postpone the retry (a website
    in maintenance), up to the schedule's longest step, but never brings it forward, or a website
    answering ``Retry-After: 1`` would spend every attempt of three days in ten seconds.
    """
    steps: Sequence[timedelta] = policy.schedule
    if failures < 1 or failures > len(steps):
        return None
    step = steps[failures - 1]
    spread = (rng or random).uniform(-policy.jitter, policy.jitter)
    delay = step * (1 + spread)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), max(steps)))
    return delay
