"""Refunds, captures and cancellations of Checkout payments (PROTOCOL §11), through the SDK.

A refund is ``POST /payment/refunds`` with our operation's reference as its ``externalId`` (Checkout
answers the same refund when asked again with it); a capture completes an AUTHORIZED transaction
online, a cancellation voids it online. Checkout's answers are read into the platform-neutral
:class:`~polybanking.platforms.OperationAnswer`, in the e-payment codes websites read (8/81/83 for
refunds, 9/91/93 for captures, 6/61/63 for cancellations), and a refund read later (its webhook,
the status janitor) into a :class:`~polybanking.platforms.StatusReport` naming our reference, so
that the one settle path finds the operation it is about. A capture or cancellation left pending
is read later with its transaction (``operation_report``): what websites see follows the
transaction, and the operation is done or refused as the two together say.
"""

from dataclasses import replace
from typing import Any, Protocol

from .. import (
    ACCEPTED,
    CANCEL,
    CAPTURE,
    PENDING,
    REFUND,
    REFUSED,
    OperationAnswer,
    OperationOrder,
    PlatformError,
    PlatformUnavailable,
    StatusReport,
)
from .reading import report_of
from .states import STATES

#: An operation's state at Checkout → (outcome, status websites read), per kind. States not named
#: (CREATE, SCHEDULED, PENDING, MANUAL_CHECK) are still pending.
DONE_OR_REFUSED = {
    REFUND: {"SUCCESSFUL": (ACCEPTED, "8"), "FAILED": (REFUSED, "83")},
    CAPTURE: {"SUCCESSFUL": (ACCEPTED, "9"), "FAILED": (REFUSED, "93")},
    CANCEL: {"SUCCESSFUL": (ACCEPTED, "6"), "FAILED": (REFUSED, "63")},
}


class Space(Protocol):
    """What operating needs of a ``CheckoutPlatform`` (which calls this module, so is not imported)."""

    space_id: int

    def call(self, service_class: type, method: str, *args: Any, **kwargs: Any) -> Any: ...

    def read(self, platform_id: str) -> Any: ...


#: The TransactionsService call of a capture (complete online) and of a cancellation (void online).
ONLINE = {
    CAPTURE: "post_payment_transactions_id_complete_online",
    CANCEL: "post_payment_transactions_id_void_online",
}
PENDING_STATUS = {REFUND: "81", CAPTURE: "91", CANCEL: "61"}
#: The rank (StatusReport.pay_id_sub) of the transaction's state a capture or cancellation leads to.
RANK = {CAPTURE: STATES["FULFILL"].rank, CANCEL: STATES["VOIDED"].rank}
#: The transaction's state once a capture or cancellation is done.
DONE_STATE = {CAPTURE: "FULFILL", CANCEL: "VOIDED"}
#: What Checkout calls a capture's and a cancellation's own entity, and the SDK's call reading it.
ENTITY = {CAPTURE: "completion", CANCEL: "void"}
READ = {
    CAPTURE: ("TransactionCompletionsService", "get_payment_transactions_completions_id"),
    CANCEL: ("TransactionVoidsService", "get_payment_transactions_voids_id"),
}
#: Each kind's search, for a completion or void whose answer never came (its id unknown).
SEARCH = {
    CAPTURE: ("TransactionCompletionsService", "get_payment_transactions_completions_search"),
    CANCEL: ("TransactionVoidsService", "get_payment_transactions_voids_search"),
}


def state_of(entity) -> str:
    return str(getattr(entity.state, "value", entity.state) or "")


def _failure(entity) -> str:
    reason = entity.failure_reason
    if reason is None:
        return ""
    texts = reason.description or reason.name or {}
    return (texts.get("en-US") or next(iter(texts.values()), "") if texts else "")[:200]


def outcome_of(kind: str, state: str) -> tuple[str, str]:
    """(outcome, status) for an operation of ``kind`` in Checkout ``state``."""
    return DONE_OR_REFUSED[kind].get(state, (PENDING, PENDING_STATUS[kind]))


def answer_of(kind: str, entity) -> OperationAnswer:
    """Checkout's refund, completion or void as the answer every platform gives."""
    if entity is None or entity.id is None:
        raise PlatformUnavailable(f"Checkout answered no {kind}")
    state = state_of(entity)
    outcome, status = outcome_of(kind, state)
    message = f"{state}: {_failure(entity)}" if outcome == REFUSED else ""
    return OperationAnswer(outcome, status, str(entity.id), RANK.get(kind), message)


def _capture_answer(platform: Space, completion) -> OperationAnswer:
    """A successful completion leaves the payment COMPLETED while Checkout's risk checks run
    (PROTOCOL §11: 91): the capture is done only once the transaction is FULFILL, and refused
    when it ends DECLINE. So the transaction is read once more to say which."""
    answer = answer_of(CAPTURE, completion)
    if answer.outcome != ACCEPTED:
        return answer
    try:
        report = report_of(platform.read(str(completion.linked_transaction)))
    except PlatformError:
        report = None  # the completion stands; the webhook or the janitor says the rest
    if report is not None and report.status == STATES["FULFILL"].status:
        return answer
    if report is not None and report.status == STATES["DECLINE"].status:
        return replace(answer, outcome=REFUSED, status="93", message="DECLINE after completion")
    return replace(answer, outcome=PENDING, status="91", sequence=STATES["COMPLETED"].rank)


def operate(platform: Space, order: OperationOrder) -> OperationAnswer:
    """Ask Checkout for ``order``; PlatformUnavailable when the call failed (the network, or an
    HTTP error of Checkout's): what happened there is then unknown, and never assumed."""
    from postfinancecheckout.models import RefundCreate, RefundType
    from postfinancecheckout.service import RefundsService, TransactionsService

    try:
        transaction_id = int(order.payment_id)
    except ValueError:
        raise PlatformUnavailable("the payment has no Checkout transaction id") from None
    try:
        if order.kind == REFUND:
            create = RefundCreate(
                external_id=order.reference,
                amount=order.amount_cents / 100,
                transaction=transaction_id,
                merchant_reference=order.order_id,
                type=RefundType.MERCHANT_INITIATED_ONLINE,
            )
            refund = platform.call(RefundsService, "post_payment_refunds", platform.space_id, create)
            linked = refund.transaction.id if refund is not None and refund.transaction else None
            if linked is not None and linked != transaction_id:
                # Checkout answered an older refund of the same externalId (another database, a
                # restore): never taken as ours. It stays pending; the janitor finds none on our
                # transaction and refuses it (money moved nowhere).
                raise PlatformUnavailable(
                    f"Checkout answered refund {refund.id} of transaction {linked}, not of {transaction_id}:"
                    f" the externalId {order.reference} is taken in this space"
                )
            return answer_of(REFUND, refund)
        if order.kind in ONLINE:
            done = platform.call(TransactionsService, ONLINE[order.kind], transaction_id, platform.space_id)
            return _capture_answer(platform, done) if order.kind == CAPTURE else answer_of(CANCEL, done)
    except PlatformError as error:
        raise PlatformUnavailable(str(error)) from None
    raise PlatformUnavailable(f"unknown operation {order.kind!r}")


def refund_report(refund) -> StatusReport | None:
    """A refund Checkout shows (its webhook, the janitor's question) as a report about its
    transaction: the payment's amount and rank, the refund's status, our reference (``externalId``).
    None when it names no transaction with an answer."""
    transaction = refund.transaction
    report = report_of(transaction) if transaction is not None and transaction.id is not None else None
    if report is None:
        return None
    _outcome, status = outcome_of(REFUND, state_of(refund))
    return replace(report, status=status, operation_reference=refund.external_id or "")


def operation_report(kind: str, entity, transaction, reference: str) -> StatusReport | None:
    """A pending capture's or cancellation's outcome, read from its completion or void (``entity``,
    None when its answer never came) together with its transaction: a report naming our
    ``reference`` whose status is the transaction's (PROTOCOL §11's table), or None while it is
    still pending. Done once the transaction is FULFILL (VOIDED); refused once it went elsewhere
    (DECLINE after completion, FAILED, voided or captured instead) or, still AUTHORIZED, once
    the completion (void) itself FAILED; a failed one is final, so reading the two one after
    the other never refuses one that succeeds."""
    report = report_of(transaction)
    state = state_of(transaction)
    if report is None or kind not in DONE_STATE:
        return None
    if entity is not None and str(entity.linked_transaction) != str(transaction.id):
        entity = None  # not this payment's: its outcome is not known from it
    if state == DONE_STATE[kind]:
        outcome, message = ACCEPTED, ""
    elif kind == CAPTURE and state == "COMPLETED":
        return None  # captured, Checkout's risk checks still running
    elif state == "AUTHORIZED":
        if entity is None or state_of(entity) != "FAILED":
            return None  # Checkout has not finished: the webhook or the janitor asks again
        outcome, message = REFUSED, f"{ENTITY[kind]} FAILED: {_failure(entity)}"
    else:
        outcome, message = REFUSED, f"the transaction is {state}"
    return replace(
        report, operation_reference=reference, operation_outcome=outcome, operation_message=message[:200]
    )
