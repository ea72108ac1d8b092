"""Settling operations from a platform's report: the part of ``apply_report`` that knows them.

Every report (post-sale, browser return, status query, an operation's own answer) passes here
first. A report of a refund, capture or cancellation settles the pending operation it is about,
and says whether the transaction's status must stay as it is: a partial refund leaves a paid
payment paid (PROTOCOL §10: only a refund bringing the total to the whole amount makes it 8), and
a refused or still pending refund changes nothing websites see. A report that gives a named
operation's outcome apart from the payment's status (Checkout's completion or void read with
its transaction) settles that operation, and the status becomes the payment's (PROTOCOL §11).
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Operation, Transaction, TransactionLog
from ...models.meta import utcnow
from ...models.operation import CANCEL, DONE, KINDS, PENDING, REFUND, REFUSED
from ...platforms import ACCEPTED, StatusReport
from ...platforms.epayment.statuses import OPERATION_PENDING, operation_outcome


@dataclass(frozen=True)
class Settlement:
    """``hold``: the report is recorded but the transaction's status stays as it is;
    ``refunded``: a refund was settled done by this report; ``current``: the report is the
    platform's word on the payment read with the operation it settled, so its status is the
    transaction's now, even if an earlier answer of that operation ranked higher;
    ``authorised_again``: a cancellation shown pending (61) was refused (63): the payment is
    authorised as before (5), as Checkout's failed void leaves it."""

    operation: Operation | None = None
    hold: bool = False
    refunded: bool = False
    current: bool = False
    authorised_again: bool = False


def _kind_of(transaction: Transaction, report: StatusReport) -> str | None:
    if report.status in ("9", "91", "93") and transaction.postfinance_status not in ("5", "91"):
        return None  # a payment's own outcome, not a capture
    for kind in KINDS:
        if operation_outcome(kind, report.status):
            return kind
    return None


def _match(dbsession: Session, transaction: Transaction, kind: str, report: StatusReport) -> Operation | None:
    """The pending operation the report is about: the one it names by our reference, if it names
    one; else the same PAYIDSUB, else the oldest sent before."""
    pending = dbsession.scalars(
        select(Operation)
        .where(Operation.transaction_id == transaction.id, Operation.kind == kind, Operation.state == PENDING)
        .order_by(Operation.id)
    ).all()
    if report.operation_reference:
        return next((o for o in pending if o.reference == report.operation_reference), None)
    sequence = report.pay_id_sub
    for operation in pending:
        if operation.platform_sequence == sequence:
            return operation
    for operation in pending:
        if operation.sent and (operation.platform_sequence is None or operation.platform_sequence < sequence):
            return operation
    return None


def settle(operation: Operation, outcome: str, status: str, dbsession: Session, message: str = "") -> None:
    """Record a platform's final word on ``operation`` (done or refused); money follows."""
    transaction = operation.transaction
    now = utcnow()
    operation.platform_status = status
    operation.updated_at = now
    if outcome == PENDING or operation.state != PENDING:
        return
    operation.state = outcome
    if operation.kind == REFUND:
        if outcome == DONE:
            transaction.refunded_amount += operation.amount
        elif outcome == REFUSED:
            transaction.refund_reserved -= operation.amount
    text = f"{operation.kind} #{operation.id} of {operation.amount / 100:.2f} CHF: status {status or '-'}"
    if message:
        text += f" ({message})"
    log_type = "operationDone" if outcome == DONE else "operationRefused"
    dbsession.add(TransactionLog(transaction=transaction, log_type=log_type, extra_data=text, when=now))


def _settle_named(dbsession: Session, transaction: Transaction, report: StatusReport) -> Settlement:
    """A report giving the outcome of the operation it names apart from the payment's status
    (StatusReport.operation_outcome): the operation settled, the status the payment's."""
    operation = dbsession.scalar(
        select(Operation).where(
            Operation.transaction_id == transaction.id,
            Operation.id == _operation_id(transaction, report.operation_reference),
            Operation.state == PENDING,
        )
    )
    if operation is None:
        return Settlement()  # settled already: the report is the payment's state, as any other
    outcome = DONE if report.operation_outcome == ACCEPTED else REFUSED
    settle(operation, outcome, report.status, dbsession, report.operation_message)
    return Settlement(operation, current=True)


def _operation_id(transaction: Transaction, reference: str) -> int | None:
    """The id in our ``reference`` (``Operation.reference``) of an operation of ``transaction``."""
    prefix, _dash, number = reference.rpartition("-")
    return int(number) if prefix == str(transaction.id) and number.isascii() and number.isdigit() else None


def settle_report(dbsession: Session, transaction: Transaction, report: StatusReport) -> Settlement:
    """Settle the operation ``report`` is about, if any; see the module's docstring."""
    if report.operation_outcome:
        return _settle_named(dbsession, transaction, report)
    kind = _kind_of(transaction, report)
    if kind is None:
        return Settlement()
    outcome = operation_outcome(kind, report.status)
    operation = _match(dbsession, transaction, kind, report)
    refunded = False
    if operation is not None:
        if operation.platform_sequence is None:
            operation.platform_sequence = report.pay_id_sub
        settle(operation, outcome, report.status, dbsession)
        refunded = operation.kind == REFUND and operation.state == DONE
    if kind == CANCEL and outcome == REFUSED:
        # A refused cancellation leaves the payment authorised: 5 again if we showed it pending,
        # and a repeat of the refusal (the post-sale, then the status check) changes nothing.
        again = operation is not None and transaction.postfinance_status in OPERATION_PENDING[CANCEL]
        return Settlement(operation, hold=not again, authorised_again=again)
    if kind != REFUND:
        return Settlement(operation, hold=outcome == REFUSED and operation is not None)
    known_refunds = operation is not None or dbsession.scalar(
        select(Operation.id)
        .where(Operation.transaction_id == transaction.id, Operation.kind == REFUND)
        .limit(1)
    )
    if not known_refunds:
        return Settlement()  # refunded in PostFinance's back office: reported as it says
    whole = transaction.refunded_amount >= transaction.amount
    return Settlement(operation, hold=not (outcome == DONE and whole), refunded=refunded)
