"""The database as IPN outbox: claiming what is due, recording attempts, looking ahead.

A claim is an atomic conditional UPDATE (token + expiry) committed before any HTTP is sent: two
workers never send for one transaction at once, no row lock is held while a website answers (on
SQLite that would stall every request), and a worker killed mid-delivery leaves a claim that simply
expires. On PostgreSQL a scan's candidates are picked ``FOR UPDATE SKIP LOCKED`` so concurrent
workers take disjoint batches instead of queueing behind each other; a claim for given transactions
(``send_ipn``, queued after a status change) waits for their row instead: its lock may be held by a
duplicate feedback that changes nothing and queues nothing, and a skipped IPN would then wait for
the next scan. Every holder of that lock (a claim, a feedback, a result recorded) commits at once.
"""

import random
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session, joinedload

from ...models import Config, IpnAttempt, Transaction, TransactionLog
from .payload import ipn_message
from .schedule import IpnPolicy, retry_delay
from .sender import AttemptResult, Delivery


def _due(now: datetime):
    """Owed, not given up, its time has come (no time: rows older than the outbox), and nobody
    holds a live claim on it."""
    return and_(
        Transaction.ipn_needed.is_(True),
        Transaction.ipn_failed.is_(False),
        or_(Transaction.ipn_next_attempt_at.is_(None), Transaction.ipn_next_attempt_at <= now),
        or_(Transaction.ipn_claimed_until.is_(None), Transaction.ipn_claimed_until <= now),
    )


#: The log line of an IPN whose claim had expired with its worker (died or stalled mid-delivery).
CLAIM_EXPIRED = "ipnClaimExpired"


def claim(
    dbsession: Session,
    now: datetime,
    lease: timedelta,
    limit: int = 100,
    transaction_ids: Sequence[int] | None = None,
    taken_over: list[int] | None = None,
    skip_urls: Collection[str] = (),
    skip_ids: Collection[int] = (),
) -> list[Delivery]:
    """Claim up to ``limit`` due IPNs (only among ``transaction_ids`` if given; none for configs
    whose IPN URL is in ``skip_urls``: a slow website's, whose threads are all busy; none of
    ``skip_ids``: the caller's own, posted but not recorded yet), oldest due first, and build what
    to send from the rows as they are now. Commit before sending.

    A due IPN that still carries a claim token was left by a worker that died (or stalled past
    its lease) mid-delivery: it is taken over, logged on the transaction, and its id appended to
    ``taken_over`` so the caller can say so. Its website may get that IPN twice, with the same
    ``webhook-id``."""
    candidates = (
        select(Transaction.id, Transaction.ipn_claim_token, Transaction.ipn_claimed_until)
        .where(_due(now))
        .order_by(Transaction.ipn_next_attempt_at)
    )
    if transaction_ids is not None:
        candidates = candidates.where(Transaction.id.in_(transaction_ids))
    if skip_urls:
        skipped = select(Config.id).where(Config.url_ipn.in_(sorted(skip_urls)))
        candidates = candidates.where(Transaction.config_id.not_in(skipped))
    if skip_ids:
        candidates = candidates.where(Transaction.id.not_in(sorted(skip_ids)))
    if dbsession.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=transaction_ids is None, of=Transaction)
    rows = dbsession.execute(candidates.limit(limit)).all()
    ids = [row.id for row in rows]
    if not ids:
        return []
    expired = {row.id: row.ipn_claimed_until for row in rows if row.ipn_claim_token is not None}
    token, until = uuid.uuid4().hex, now + lease
    dbsession.execute(
        update(Transaction)
        .where(Transaction.id.in_(ids), _due(now))  # re-checked under the row's lock: atomic
        .values(ipn_claim_token=token, ipn_claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    claimed = dbsession.scalars(
        select(Transaction)
        .where(Transaction.ipn_claim_token == token)
        .options(joinedload(Transaction.config))
        .order_by(Transaction.id)
        .execution_options(populate_existing=True)
    )
    deliveries = []
    for transaction in claimed:
        if transaction.id in expired:
            dbsession.add(
                TransactionLog(
                    transaction_id=transaction.id,
                    log_type=CLAIM_EXPIRED,
                    extra_data=f"a worker's claim ended {expired[transaction.id]} with no result; taken over",
                    when=now,
                )
            )
            if taken_over is not None:
                taken_over.append(transaction.id)
        message = ipn_message(transaction)
        deliveries.append(
            Delivery(
                transaction_id=transaction.id,
                url=transaction.config.url_ipn,
                fields=message.fields,
                body=message.body,
                content_type=message.content_type,
                webhook_id=message.webhook_id,
                claim_token=token,
                claimed_until=until,
                key_ipn=transaction.config.key_ipn,
            )
        )
    return deliveries


@dataclass(frozen=True)
class Recorded:
    """What became of one attempt: delivered, retried at ``next_attempt_at``, or given up."""

    transaction_id: int
    ok: bool
    next_attempt_at: datetime | None = None
    failed: bool = False
    #: The status changed while the IPN was in flight: the new one is due now, on a fresh schedule.
    superseded: bool = False
    #: Not sent (its claim was too old to start an attempt): free for the next round, as it was.
    released: bool = False


def _apply(transaction: Transaction, delivery: Delivery, result: AttemptResult, policy, now, rng) -> Recorded:
    ours = transaction.ipn_claim_token == delivery.claim_token
    if ours:
        transaction.ipn_claim_token = None
        transaction.ipn_claimed_until = None
    if (transaction.postfinance_status or "") != delivery.status:
        # An attempt only counts for the status it carried; the newer one was made due with it.
        return Recorded(transaction.id, result.ok, transaction.ipn_next_attempt_at, superseded=True)
    if not ours:
        # Our claim expired (a stalled worker, a late answer), perhaps another worker took over.
        # A delivery stays delivered; otherwise the attempt still counts, so a website whose
        # answers always come late is given up on schedule instead of being posted for ever.
        if transaction.ipn_needed and not transaction.ipn_failed:
            transaction.ipn_attempts += 1
            if result.ok:
                transaction.ipn_needed = False
                transaction.ipn_next_attempt_at = None
            elif transaction.ipn_attempts >= policy.max_attempts:
                transaction.ipn_failed = True
                transaction.ipn_next_attempt_at = None
                return Recorded(transaction.id, False, failed=True)
        return Recorded(transaction.id, result.ok, transaction.ipn_next_attempt_at)
    transaction.ipn_attempts += 1
    if result.ok:
        transaction.ipn_needed = False
        transaction.ipn_next_attempt_at = None
        return Recorded(transaction.id, True)
    delay = retry_delay(policy, transaction.ipn_attempts, result.retry_after, rng)
    if delay is None:
        transaction.ipn_failed = True  # given up; still ipn_needed, listed by `ipn status`
        transaction.ipn_next_attempt_at = None
        return Recorded(transaction.id, False, failed=True)
    transaction.ipn_next_attempt_at = now + delay
    return Recorded(transaction.id, False, transaction.ipn_next_attempt_at)


def record(
    dbsession: Session,
    attempts: Sequence[tuple[Delivery, AttemptResult | None]],
    policy: IpnPolicy,
    now: datetime,
    rng: random.Random | None = None,
) -> list[Recorded]:
    """Log each attempt and move its IPN on: done, retried later, or failed after the last try.
    A None result is an IPN that was not sent: its claim is released, nothing else changes."""
    ids = sorted({delivery.transaction_id for delivery, _ in attempts})
    rows = dbsession.scalars(
        select(Transaction)
        .where(Transaction.id.in_(ids))
        .order_by(Transaction.id)  # one lock order for every worker: no deadlock
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    transactions = {transaction.id: transaction for transaction in rows}
    attempt_rows, log_rows, outcomes = [], [], []
    for delivery, result in attempts:
        transaction = transactions.get(delivery.transaction_id)
        if transaction is None:  # deleted meanwhile
            continue
        if result is None:
            if transaction.ipn_claim_token == delivery.claim_token:
                transaction.ipn_claim_token = transaction.ipn_claimed_until = None
            outcomes.append(Recorded(transaction.id, False, transaction.ipn_next_attempt_at, released=True))
            continue
        if result.ok:  # PROTOCOL §7: the last *successful* IPN, as the original said
            transaction.last_ipn_date = result.started_at
        attempt_rows.append(
            {
                "transaction_id": transaction.id,
                "attempted_at": result.started_at,
                "duration_ms": result.duration_ms,
                "postfinance_status": delivery.status,
                "success": result.ok,
                "http_status": result.http_status,
                "error": result.error,
                "answer": result.answer,
                "webhook_id": delivery.webhook_id,
            }
        )
        log_rows.append(
            {
                "transaction_id": transaction.id,
                "log_type": "ipnsuccess" if result.ok else "ipnfailled",
                "extra_data": f"status {delivery.status}: {result.describe()}",
                "when": result.started_at,
            }
        )
        outcomes.append(_apply(transaction, delivery, result, policy, now, rng))
    if attempt_rows:
        # Plain executemany INSERTs: a batch's rows need no ids back, and the statement stays small.
        dbsession.execute(insert(IpnAttempt), attempt_rows)
        dbsession.execute(insert(TransactionLog), log_rows)
    return outcomes


def upcoming(
    dbsession: Session, now: datetime, horizon: datetime, limit: int = 1000
) -> list[tuple[int, datetime]]:
    """IPNs that become due after ``now`` but by ``horizon`` (a retry, or a claim expiring), with
    when: a scan schedules a queue message for each, so they are not late until the next scan."""
    rows = dbsession.execute(
        select(Transaction.id, Transaction.ipn_next_attempt_at, Transaction.ipn_claimed_until)
        .where(
            Transaction.ipn_needed.is_(True),
            Transaction.ipn_failed.is_(False),
            Transaction.ipn_next_attempt_at <= horizon,
            or_(Transaction.ipn_claimed_until.is_(None), Transaction.ipn_claimed_until <= horizon),
            or_(Transaction.ipn_next_attempt_at > now, Transaction.ipn_claimed_until > now),
        )
        .order_by(Transaction.ipn_next_attempt_at)
        .limit(limit)
    )
    return [(tid, max(when for when in (due, claimed) if when is not None)) for tid, due, claimed in rows]
