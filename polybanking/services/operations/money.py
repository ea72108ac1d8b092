"""What a transaction's money is, for the admin page: paid, captured, refunded, refundable."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Operation, Transaction
from ...models.operation import CANCEL, CAPTURE, DONE, PENDING, REFUND
from ...platforms.epayment.statuses import OPERATION_DONE, OPERATION_PENDING, OPERATION_REFUSED
from .request import NEEDED_STATUS, refundable

#: Statuses of a payment that was made (9), whatever was refunded of it since.
PAID_STATUSES = (
    frozenset({"9"}) | OPERATION_DONE[REFUND] | OPERATION_PENDING[REFUND] | OPERATION_REFUSED[REFUND]
)


@dataclass(frozen=True)
class Money:
    """In cents; ``refund_pending`` is asked and not yet confirmed by the platform."""

    paid: int
    captured: int
    refunded: int
    refund_pending: int
    refundable: int
    operations: list[Operation]

    def may(self, kind: str, status: str | None) -> bool:
        """Whether a form for ``kind`` makes sense now (the service checks again when asked)."""
        if kind == REFUND:
            return self.refundable > 0
        busy = any(o.kind in (CAPTURE, CANCEL) and o.state != "refused" for o in self.operations)
        return status == NEEDED_STATUS[kind] and not busy


def money_of(dbsession: Session, transaction: Transaction) -> Money:
    operations = list(
        dbsession.scalars(
            select(Operation).where(Operation.transaction_id == transaction.id).order_by(Operation.id.desc())
        )
    )
    paid = transaction.amount if transaction.postfinance_status in PAID_STATUSES else 0
    return Money(
        paid=paid,
        captured=sum(o.amount for o in operations if o.kind == CAPTURE and o.state == DONE),
        refunded=transaction.refunded_amount,
        refund_pending=sum(o.amount for o in operations if o.kind == REFUND and o.state == PENDING),
        refundable=refundable(transaction),
        operations=operations,
    )
