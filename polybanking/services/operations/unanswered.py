"""Operations whose platform call gave no answer (the network, an HTTP error) and of which the
platform shows no trace: refused, so that a refund's amount is not reserved for ever and a capture
or cancellation may be asked again.

The task never asks twice (``run.claim``), so an operation sent ``reconcile.stale_after`` ago that
the platform still does not show never reached it, or was refused there: either way no money moved.
Each platform says what "no trace" is: Checkout has no refund with its ``externalId`` (refunds
only: a completion or void has no id of ours to look it up by); e-payment's DirectLink shows no
operation after the last one we know of (any kind: each is a new PAYIDSUB there).
"""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Operation, Transaction
from ...models.operation import PENDING, REFUND, REFUSED
from .settle import settle


def refuse_unanswered(
    dbsession: Session,
    transaction: Transaction,
    sent_before: datetime,
    message: str,
    references: Collection[str] | None = None,
    kinds: Collection[str] = (REFUND,),
) -> list[Operation]:
    """Refuse the operations of ``kinds`` of ``transaction`` (locked by the caller) sent before
    ``sent_before`` that never got an answer, those named by ``references`` if given; ``settle``
    gives a refund's amount back and logs ``message``. Nothing websites see changes (the status
    stayed as it was while the answer was missing), so no IPN."""
    if references is not None and not references:
        return []
    unanswered = dbsession.scalars(
        select(Operation)
        .where(
            Operation.transaction_id == transaction.id,
            Operation.kind.in_(kinds),
            Operation.state == PENDING,
            Operation.sent.is_(True),
            Operation.platform_id == "",
            Operation.updated_at <= sent_before,
        )
        .order_by(Operation.id)
    )
    refused = [o for o in unanswered if references is None or o.reference in references]
    for operation in refused:
        settle(operation, REFUSED, "", dbsession, message)
    return refused
