"""Asking for a refund, capture or cancellation: checks, the money reserved, the row written.

The row exists before the platform is called (a task calls it after commit). Two guards hold
whatever the timing, in the database rather than in a check then an insert: the unique
``(transaction, idempotency key)`` makes a replay the same operation, and one conditional UPDATE
reserves a refund's amount only while ``refund_reserved + amount <= amount`` (a CHECK backs it).
"""

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...models import Operation, Transaction, TransactionLog
from ...models.meta import utcnow
from ...models.operation import IDEMPOTENCY_KEY_MAX_LENGTH, KINDS, REFUND
from ...platforms import OPERATING_PLATFORMS
from .errors import OperationRefused

REASON_MAX_LENGTH = 1000
#: A whole payment's amount never comes near this; a larger number is junk (and slow to parse).
AMOUNT_MAX_DIGITS = 12
#: The status an operation needs: refunds a paid payment, captures and cancellations an authorised one.
NEEDED_STATUS = {REFUND: "9", "capture": "5", "cancel": "5"}


@dataclass(frozen=True)
class Requested:
    """The operation, and whether this request created it (False: the same key was sent again)."""

    operation: Operation
    created: bool


def parse_amount(raw: str | None) -> int | None:
    """Cents from a form field; None when absent or empty; OperationRefused(400) when malformed."""
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > AMOUNT_MAX_DIGITS or int(raw) <= 0:
        raise OperationRefused(400, "amount must be a positive whole number of cents")
    return int(raw)


def check_key(key: str | None) -> str:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise OperationRefused(
            400, f"idempotency_key is required: 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters"
        )
    return key


def refundable(transaction: Transaction) -> int:
    """What may still be refunded: paid, less what is refunded or pending."""
    if transaction.postfinance_status != NEEDED_STATUS[REFUND]:
        return 0
    return transaction.amount - transaction.refund_reserved


def _existing(dbsession: Session, transaction: Transaction, key: str) -> Operation | None:
    return dbsession.scalar(
        select(Operation).where(Operation.transaction_id == transaction.id, Operation.idempotency_key == key)
    )


def _replay(operation: Operation, kind: str, amount: int | None) -> Requested:
    if operation.kind != kind or (amount is not None and amount != operation.amount):
        raise OperationRefused(409, "this idempotency_key was used for another operation or amount")
    return Requested(operation, created=False)


def _amount_for(transaction: Transaction, kind: str, amount: int | None) -> int:
    if transaction.config.platform not in OPERATING_PLATFORMS:
        raise OperationRefused(
            409, "refunds, captures and cancellations of this platform's payments are made in its back office"
        )
    if transaction.postfinance_status != NEEDED_STATUS[kind]:
        needed = "paid" if kind == REFUND else "authorised (status 5)"
        raise OperationRefused(409, f"the transaction is not {needed}")
    if kind != REFUND:
        if amount is not None and amount != transaction.amount:
            raise OperationRefused(409, f"a {kind} is of the whole amount only")
        return transaction.amount
    left = refundable(transaction)
    if left <= 0:
        raise OperationRefused(409, "nothing is left to refund")
    if amount is not None and amount > left:
        raise OperationRefused(409, f"the amount is more than is left to refund ({left} cents)")
    return left if amount is None else amount


def preview(transaction: Transaction, kind: str, amount: int | None) -> int:
    """The amount ``kind`` would move now (for a confirmation); OperationRefused when it may not."""
    if kind not in KINDS:
        raise OperationRefused(400, f"unknown operation {kind!r}")
    return _amount_for(transaction, kind, amount)


def request_operation(
    dbsession: Session,
    transaction: Transaction,
    kind: str,
    amount: int | None,
    *,
    idempotency_key: str,
    requested_by: str,
    reason: str = "",
) -> Requested:
    """The operation for ``idempotency_key``: created now, or the one this key created before.

    OperationRefused (nothing changed) when it may not be done: not paid or authorised, too much,
    a key reused for something else, a capture or cancellation already made.
    """
    if kind not in KINDS:
        raise OperationRefused(400, f"unknown operation {kind!r}")
    key = check_key(idempotency_key)
    if len(reason) > REASON_MAX_LENGTH or "\x00" in reason:
        raise OperationRefused(400, f"reason: at most {REASON_MAX_LENGTH} characters")
    dbsession.execute(select(Transaction.id).where(Transaction.id == transaction.id).with_for_update())
    dbsession.refresh(transaction)
    existing = _existing(dbsession, transaction, key)
    if existing is not None:
        return _replay(existing, kind, amount)
    cents = _amount_for(transaction, kind, amount)
    now = utcnow()
    try:
        with dbsession.begin_nested():
            if kind == REFUND:
                reserved = dbsession.execute(
                    update(Transaction)
                    .where(
                        Transaction.id == transaction.id,
                        Transaction.refund_reserved + cents <= Transaction.amount,
                    )
                    .values(refund_reserved=Transaction.refund_reserved + cents)
                    .execution_options(synchronize_session=False)
                )
                if reserved.rowcount != 1:
                    raise OperationRefused(409, "the amount is more than is left to refund")
            operation = Operation(
                transaction=transaction,
                kind=kind,
                amount=cents,
                idempotency_key=key,
                requested_by=requested_by[:255],
                reason=reason,
                created_at=now,
                updated_at=now,
            )
            dbsession.add(operation)
            dbsession.flush()
    except IntegrityError:
        existing = _existing(dbsession, transaction, key)
        if existing is not None:  # the same key, committed by a request running at the same time
            return _replay(existing, kind, amount)
        raise OperationRefused(
            409, "a capture or cancellation of this transaction was asked already"
        ) from None
    dbsession.refresh(transaction)
    text = f"{kind} #{operation.id} of {cents / 100:.2f} CHF by {operation.requested_by}"
    dbsession.add(
        TransactionLog(
            transaction=transaction,
            log_type="operationRequested",
            extra_data=text + (f": {reason}" if reason else ""),
            when=now,
        )
    )
    return Requested(operation, created=True)


def operation_json(operation: Operation) -> dict[str, int | str]:
    """An operation as the API answers it (PROTOCOL §10): cents as a string, as amounts are there."""
    return {
        "id": operation.id,
        "amount": str(operation.amount),
        "state": operation.state,
        "idempotency_key": operation.idempotency_key,
    }
