"""Slowing down password guessing: after a few failures, each further try must wait longer.

Failures are counted per username (whoever tries it, unknown names included) and per client
address, over a sliding window. Past the limit, the next try is refused until ``2**extra``
seconds (capped) after the last failure, without even checking the password, so a guesser gets
a few tries an hour while the real owner, after a typo or two, is not locked out.

The check, the password's verification and the recorded failure are one atomic step per username
and per address: on PostgreSQL the check first takes a transaction-scoped advisory lock on each
key (released when the sign-in's transaction ends), so parallel guesses queue and each sees the
failures of the ones before it; SQLite's transactions already take the database's write lock at
BEGIN (models/__init__.py). Without this, a burst of parallel guesses all passed the check.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session

from ..models import SignInFailure
from ..models.meta import utcnow

WINDOW = timedelta(minutes=15)
USERNAME_LIMIT = 5
IP_LIMIT = 20
MAX_DELAY = timedelta(minutes=15)
USERNAME_KEY_LENGTH = 150


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds


def _key(username: str) -> str:
    return username.strip().lower()[:USERNAME_KEY_LENGTH]


def _delay(failures: int, limit: int) -> timedelta:
    if failures < limit:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - limit, 20)), MAX_DELAY)


def _serialise(dbsession: Session, keys: list[str]) -> None:
    """Queue behind any other sign-in for the same username or address until this one commits."""
    if dbsession.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):  # one order for every request: no deadlock
        dbsession.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def check(dbsession: Session, username: str, ip: str, now: datetime | None = None) -> Verdict:
    """Whether a sign-in may be tried now; holds the keys' locks until the caller's transaction
    ends, so record the failure in that same transaction."""
    _serialise(dbsession, [f"throttle:user:{_key(username)}", f"throttle:ip:{ip[:64]}"])
    now = now or utcnow()
    since = now - WINDOW
    waits = []
    for column, value, limit in (
        (SignInFailure.username, _key(username), USERNAME_LIMIT),
        (SignInFailure.ip, ip[:64], IP_LIMIT),
    ):
        if not value:
            continue
        count, last = dbsession.execute(
            select(func.count(), func.max(SignInFailure.when)).where(
                column == value, SignInFailure.when > since
            )
        ).one()
        if last is not None and count >= limit:  # under the limit no wait, even if `last` is a
            waits.append(last + _delay(count, limit) - now)  # hair after `now` (queued behind it)
    longest = max(waits, default=timedelta(0))
    if longest > timedelta(0):
        return Verdict(False, int(longest.total_seconds()) + 1)
    return Verdict(True)


def record_failure(dbsession: Session, username: str, ip: str, now: datetime | None = None) -> None:
    dbsession.add(SignInFailure(username=_key(username), ip=ip[:64], when=now or utcnow()))


def record_success(dbsession: Session, username: str, now: datetime | None = None) -> None:
    """The owner got in: forget the username's failures, and prune what is older than the window."""
    now = now or utcnow()
    dbsession.execute(
        delete(SignInFailure).where(
            or_(SignInFailure.username == _key(username), SignInFailure.when <= now - WINDOW)
        )
    )
