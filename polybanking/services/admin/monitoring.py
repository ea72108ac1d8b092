"""What /healthz and /metrics report about the database and the queue, computed when asked.

Nothing here runs on a payment request: these queries run only when an operator's probe or
Prometheus asks, on a connection of their own (not the request's transaction).
"""

from dataclasses import dataclass, field

from huey import Huey
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Engine

from ...models import IpnAttempt, Transaction
from ...outages import describe

NO_STATUS = "none"  # a transaction PostFinance has not reported on yet
IPN_OUTCOMES = {"ipnsuccess": "success", "ipnfailled": "failure"}


@dataclass
class Snapshot:
    """One look at the gateway's state; ``database``/``queue`` are ``ok`` or a short error."""

    database: str = "not checked"
    queue: str = "not checked"
    ipn_pending: int | None = None
    ipn_failing: int | None = None
    ipn_given_up: int | None = None
    queue_pending: int | None = None
    queue_scheduled: int | None = None
    payments: dict[tuple[str, str], int] = field(default_factory=dict)
    ipn_attempts: dict[str, int] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.database == "ok" and self.queue == "ok"


def ipn_backlog(connection: Connection) -> tuple[int, int, int]:
    """(pending, failing, given up): IPNs due; those whose last try for the current status failed
    (the outbox counts tries per status: ``mark_due`` starts again at 0); those the outbox gave up.

    Only due transactions are looked at (the outbox index).
    """
    pending, failing, given_up = connection.execute(
        select(
            func.count(),
            func.count().filter(or_(Transaction.ipn_failed.is_(True), Transaction.ipn_attempts > 0)),
            func.count().filter(Transaction.ipn_failed.is_(True)),
        ).where(Transaction.ipn_needed.is_(True))
    ).one()
    return int(pending), int(failing or 0), int(given_up or 0)


def payments_by_status(connection: Connection) -> dict[tuple[str, str], int]:
    """{(PostFinance status or "none", internal status): count} over every transaction."""
    rows = connection.execute(
        select(Transaction.postfinance_status, Transaction.internal_status, func.count()).group_by(
            Transaction.postfinance_status, Transaction.internal_status
        )
    )
    return {(status or NO_STATUS, internal): int(count) for status, internal, count in rows}


def ipn_attempts_by_outcome(connection: Connection) -> dict[str, int]:
    """{"success": n, "failure": m}: every IPN attempt ever made, by every worker on every host.

    The outbox records each attempt twice, as an ``ipnsuccess``/``ipnfailled`` log line and as a row
    of ``ipn_attempts``; the latter is counted (no scan of every payment's log).
    """
    counts = {outcome: 0 for outcome in IPN_OUTCOMES.values()}
    rows = connection.execute(select(IpnAttempt.success, func.count()).group_by(IpnAttempt.success))
    for success, count in rows:
        counts["success" if success else "failure"] += int(count)
    return counts


def snapshot(engine: Engine, huey: Huey | None, detailed: bool = False) -> Snapshot:
    """Probe the database and the queue; with ``detailed``, also count payments and IPN attempts.

    Never raises: an unreachable database or queue is reported in the snapshot.
    """
    result = Snapshot()
    try:
        with engine.connect() as connection:
            result.ipn_pending, result.ipn_failing, result.ipn_given_up = ipn_backlog(connection)
            if detailed:
                result.payments = payments_by_status(connection)
                result.ipn_attempts = ipn_attempts_by_outcome(connection)
            connection.rollback()
        result.database = "ok"
    except Exception as error:  # any driver or network error is "unreachable" for the probe
        result.database = describe(error)
    if huey is None:
        return result
    try:
        result.queue_pending = int(huey.pending_count())
        result.queue_scheduled = int(huey.scheduled_count())
        result.queue = "ok"
    except Exception as error:
        result.queue = describe(error)
    return result
