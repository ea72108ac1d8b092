"""What /healthz and /metrics report about the database and the queue, computed when asked.

Nothing here runs on a payment request: these queries run only when an operator's probe or
Prometheus asks, on a connection of their own (not the request's transaction).
"""

from dataclasses import dataclass, field

from huey import Huey
from sqlalchemy import exists, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from ..models import Transaction, TransactionLog

NO_STATUS = "none"  # a transaction PostFinance has not reported on yet
IPN_OUTCOMES = {"ipnsuccess": "success", "ipnfailled": "failure"}


@dataclass
class Snapshot:
    """One look at the gateway's state; ``database``/``queue`` are ``ok`` or a short error."""

    database: str = "not checked"
    queue: str = "not checked"
    ipn_pending: int | None = None
    ipn_failing: int | None = None
    queue_pending: int | None = None
    queue_scheduled: int | None = None
    payments: dict[tuple[str, str], int] = field(default_factory=dict)
    ipn_attempts: dict[str, int] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.database == "ok" and self.queue == "ok"


def _short(error: BaseException) -> str:
    """The exception's class and first line: enough to act on, never a whole SQL statement."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def ipn_backlog(connection: Connection) -> tuple[int, int]:
    """(pending, failing): IPNs due, and those of them whose last attempt for the status failed.

    "Failing" = due, and an ``ipnfailled`` attempt was logged since the last status change (or the
    outbox gave up: ``ipn_failed``). Only due transactions are looked at (the outbox index).
    """
    status_log = aliased(TransactionLog)
    failed_log = aliased(TransactionLog)
    last_change = (
        select(func.max(status_log.when))
        .where(status_log.transaction_id == Transaction.id, status_log.log_type == "postfinanceStatus")
        .correlate(Transaction)
        .scalar_subquery()
    )
    failed_since_change = (
        exists()
        .where(
            failed_log.transaction_id == Transaction.id,
            failed_log.log_type == "ipnfailled",
            failed_log.when >= func.coalesce(last_change, Transaction.creation_date),
        )
        .correlate(Transaction)
    )
    pending, failing = connection.execute(
        select(
            func.count(),
            func.count().filter(or_(Transaction.ipn_failed.is_(True), failed_since_change)),
        ).where(Transaction.ipn_needed.is_(True))
    ).one()
    return int(pending), int(failing or 0)


def payments_by_status(connection: Connection) -> dict[tuple[str, str], int]:
    """{(PostFinance status or "none", internal status): count} over every transaction."""
    rows = connection.execute(
        select(Transaction.postfinance_status, Transaction.internal_status, func.count()).group_by(
            Transaction.postfinance_status, Transaction.internal_status
        )
    )
    return {(status or NO_STATUS, internal): int(count) for status, internal, count in rows}


def ipn_attempts_by_outcome(connection: Connection) -> dict[str, int]:
    """{"success": n, "failure": m}: every IPN attempt ever logged, by every worker on every host."""
    counts = {outcome: 0 for outcome in IPN_OUTCOMES.values()}
    rows = connection.execute(
        select(TransactionLog.log_type, func.count())
        .where(TransactionLog.log_type.in_(IPN_OUTCOMES))
        .group_by(TransactionLog.log_type)
    )
    for log_type, count in rows:
        counts[IPN_OUTCOMES[log_type]] = int(count)
    return counts


def snapshot(engine: Engine, huey: Huey | None, detailed: bool = False) -> Snapshot:
    """Probe the database and the queue; with ``detailed``, also count payments and IPN attempts.

    Never raises: an unreachable database or queue is reported in the snapshot.
    """
    result = Snapshot()
    try:
        with engine.connect() as connection:
            result.ipn_pending, result.ipn_failing = ipn_backlog(connection)
            if detailed:
                result.payments = payments_by_status(connection)
                result.ipn_attempts = ipn_attempts_by_outcome(connection)
            connection.rollback()
        result.database = "ok"
    except Exception as error:  # any driver or network error is "unreachable" for the probe
        result.database = _short(error)
    if huey is None:
        return result
    try:
        result.queue_pending = int(huey.pending_count())
        result.queue_scheduled = int(huey.scheduled_count())
        result.queue = "ok"
    except Exception as error:
        result.queue = _short(error)
    return result
