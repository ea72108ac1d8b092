"""Asking the platform: claim the operation, then record its answer (two short transactions).

The platform is called between them, in a task, with no lock held (DESIGN.md). ``claim`` marks
the row sent before the call, so a second worker or a replayed task never asks twice; an answer
that never came leaves it pending, for the platform's later report or a status query to settle.
"""

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from ...models import Operation, Transaction, TransactionLog
from ...models.meta import utcnow
from ...models.operation import PENDING, REFUND, REFUSED
from ...platforms import CURRENCY, OperationAnswer, OperationOrder, StatusReport
from ...platforms import REFUSED as ANSWER_REFUSED
from ...platforms.epayment.form import format_order_id
from .settle import settle


@dataclass(frozen=True)
class Claimed:
    operation_id: int
    transaction: Transaction
    order: OperationOrder


def claim(dbsession: Session, operation_id: int, orderid_prefix: str) -> Claimed | None:
    """The order to send for a pending operation not sent yet, now marked sent; else None."""
    claimed = dbsession.execute(
        update(Operation)
        .where(Operation.id == operation_id, Operation.state == PENDING, Operation.sent.is_(False))
        .values(sent=True, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    operation = dbsession.get(Operation, operation_id, populate_existing=True)
    transaction = operation.transaction
    final = operation.kind != REFUND or operation.amount == transaction.amount - transaction.refunded_amount
    order = OperationOrder(
        kind=operation.kind,
        order_id=format_order_id(orderid_prefix, transaction.id),
        payment_id=transaction.postfinance_id or "",
        amount_cents=operation.amount,
        final=final,
        reference=operation.reference,
    )
    dbsession.add(
        TransactionLog(
            transaction=transaction,
            log_type="operationSent",
            extra_data=f"{operation.kind} #{operation.id} of {operation.amount / 100:.2f} CHF",
        )
    )
    return Claimed(operation_id, transaction, order)


def record_answer(
    dbsession: Session,
    operation_id: int,
    answer: OperationAnswer | None,
    orderid_prefix: str,
    error: str = "",
) -> tuple[Transaction, StatusReport] | None:
    """Keep the platform's answer; the report to apply (``apply_report``) unless it was refused.

    The transaction is locked first, as every report about it is applied under its lock.
    """
    operation = dbsession.get(Operation, operation_id)
    if operation is None:
        return None
    transaction = dbsession.get(
        Transaction, operation.transaction_id, with_for_update=True, populate_existing=True
    )
    now = utcnow()

    def note(log_type: str, text: str) -> None:
        extra = f"{operation.kind} #{operation.id}: {text}"
        dbsession.add(TransactionLog(transaction=transaction, log_type=log_type, extra_data=extra, when=now))

    if answer is None:
        note("operationError", error[:200] or "no answer")
        return None
    operation.platform_id = answer.platform_id[:64]
    operation.platform_message = answer.message[:255]
    operation.updated_at = now
    if answer.sequence is not None:
        operation.platform_sequence = answer.sequence
    if answer.outcome == ANSWER_REFUSED:
        settle(operation, REFUSED, answer.status[:4], dbsession, operation.platform_message)
        return None
    if answer.outcome != "accepted":
        note("operationPending", f"status {answer.status[:4]} ({answer.platform_id[:64]})")
    pay_id, _slash, _sub = answer.platform_id.partition("/")
    report = StatusReport(
        order_id=format_order_id(orderid_prefix, transaction.id),
        pay_id=transaction.postfinance_id or pay_id,
        pay_id_sub=answer.sequence if answer.sequence is not None else (transaction.postfinance_id_sub or 0),
        status=answer.status,
        amount_raw=str(transaction.amount),
        amount_cents=transaction.amount,
        currency=CURRENCY,
        brand="",
        card="",
        operation_reference=operation.reference,
    )
    return transaction, report
