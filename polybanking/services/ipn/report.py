"""What the outbox holds, for operators: IPNs still pending and IPNs given up (``ipn status``,
the admin pages), and the failed ones to resend after a website is fixed."""

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Config, IpnAttempt, Transaction, TransactionLog
from ...models.meta import MAX_ROW_ID
from .payload import format_date
from .words import attempt_in_words


@dataclass(frozen=True)
class OutboxEntry:
    transaction_id: int
    config_id: int
    config_name: str
    reference: str
    postfinance_status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_result: str
    #: The same in words, for people (``could not connect: connection refused``).
    last_result_text: str = ""

    def as_json(self) -> dict:
        values = asdict(self)
        for key in ("next_attempt_at", "last_attempt_at"):
            values[key] = format_date(values[key])
        return values


def _last_attempt():
    """The transaction's latest IPN attempt (``last_ipn_date`` is the latest *successful* one)."""
    return (
        select(func.max(IpnAttempt.attempted_at))
        .where(IpnAttempt.transaction_id == Transaction.id)
        .correlate(Transaction)
        .scalar_subquery()
    )


def counts(dbsession: Session) -> dict[str, int]:
    """How many IPNs are pending (still tried) and failed (given up)."""
    rows = dbsession.execute(
        select(Transaction.ipn_failed, func.count())
        .where(Transaction.ipn_needed.is_(True))
        .group_by(Transaction.ipn_failed)
    )
    found = {bool(failed): count for failed, count in rows}
    return {"pending": found.get(False, 0), "failed": found.get(True, 0)}


def entries(dbsession: Session, failed: bool, limit: int = 50) -> list[OutboxEntry]:
    """Pending IPNs, soonest first, or failed ones, latest first; with each one's last attempt."""
    order = _last_attempt().desc() if failed else Transaction.ipn_next_attempt_at
    rows = dbsession.execute(
        select(Transaction, Config.name)
        .join(Config, Config.id == Transaction.config_id)
        .where(Transaction.ipn_needed.is_(True), Transaction.ipn_failed.is_(failed))
        .order_by(order, Transaction.id)
        .limit(limit)
    ).all()
    ids = [transaction.id for transaction, _name in rows]
    last_ids = (
        select(func.max(IpnAttempt.id))
        .where(IpnAttempt.transaction_id.in_(ids))
        .group_by(IpnAttempt.transaction_id)
    )
    last = {
        a.transaction_id: a for a in dbsession.scalars(select(IpnAttempt).where(IpnAttempt.id.in_(last_ids)))
    }
    result = []
    for transaction, name in rows:
        attempt = last.get(transaction.id)
        result.append(
            OutboxEntry(
                transaction_id=transaction.id,
                config_id=transaction.config_id,
                config_name=name,
                reference=transaction.reference,
                postfinance_status=transaction.postfinance_status or "",
                attempts=transaction.ipn_attempts,
                next_attempt_at=transaction.ipn_next_attempt_at,
                last_attempt_at=attempt.attempted_at if attempt else None,
                last_result=attempt.result if attempt else "",
                last_result_text=(
                    attempt_in_words(attempt.http_status, attempt.error, attempt.answer, attempt.duration_ms)
                    if attempt
                    else ""
                ),
            )
        )
    return result


def failed_transactions(dbsession: Session, since: datetime | None = None) -> list[Transaction]:
    """IPNs given up, whose last attempt was at or after ``since`` if given."""
    query = select(Transaction).where(Transaction.ipn_needed.is_(True), Transaction.ipn_failed.is_(True))
    if since is not None:
        query = query.where(_last_attempt() >= since)
    return list(dbsession.scalars(query.order_by(Transaction.id)))


def find_transactions(dbsession: Session, config: str, reference: str) -> list[Transaction]:
    """The transaction ``reference`` of the config numbered ``config`` or, failing that, of the
    configs named so (names are not unique: the caller refuses an ambiguous answer)."""
    query = select(Transaction).join(Config, Config.id == Transaction.config_id)
    query = query.where(Transaction.reference == reference).order_by(Transaction.id)
    if config.isdigit() and int(config) <= MAX_ROW_ID:
        found = list(dbsession.scalars(query.where(Config.id == int(config))))
        if found:
            return found
    return list(dbsession.scalars(query.where(Config.name == config)))


@dataclass(frozen=True)
class AttemptRow:
    """A line of a transaction's IPN history: an attempt (``accepted`` or ``failed``, in words, with
    the raw detail) or an operator's resend request (``resend``), which is no attempt."""

    when: datetime
    kind: str
    words: str
    detail: str = ""
    status: str = ""


def attempt_history(dbsession: Session, transaction: Transaction) -> list[AttemptRow]:
    """The transaction's IPN attempts and resend requests, newest first."""
    rows = [
        AttemptRow(
            a.attempted_at,
            "accepted" if a.success else "failed",
            attempt_in_words(a.http_status, a.error, a.answer, a.duration_ms)
            + (f" ({a.duration_ms} ms)" if a.http_status is not None else ""),
            # The detail: the website's answer (its first 1 000 characters). A failure to connect
            # has its words only, so that an IPN URL cannot be used to probe a network.
            a.answer if a.http_status is not None and not a.success else "",
            a.postfinance_status,
        )
        for a in dbsession.scalars(select(IpnAttempt).where(IpnAttempt.transaction_id == transaction.id))
    ]
    resends = dbsession.scalars(
        select(TransactionLog).where(
            TransactionLog.transaction_id == transaction.id, TransactionLog.log_type == "ipnResend"
        )
    )
    rows += [AttemptRow(log.when, "resend", log.extra_data or "resend requested") for log in resends]
    rows.sort(key=lambda row: row.when, reverse=True)
    return rows
