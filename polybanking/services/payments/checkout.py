"""PostFinance Checkout's side of a payment (PROTOCOL §11): its webhooks and reading its state.

A webhook is verified (the SDK checks ``X-Signature``), matched to one of our transactions and
logged; the caller then queues ``refresh`` after commit and answers at once. ``refresh`` reads
the transaction through the API, outside any lock, then applies what Checkout says through
``apply_report``, the one path every status takes.
"""

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Config, Operation, Transaction, TransactionLog
from ...models.meta import utcnow
from ...models.operation import CANCEL, CAPTURE, PENDING
from ...platforms import CHECKOUT, StatusReport
from ...platforms.checkout import webhooks
from ...platforms.checkout.platform import CheckoutPlatform
from ...platforms.checkout.states import SHOPPER_OK_STATUSES
from ...settings import CheckoutEnvironment, Settings
from ..operations.unanswered import refuse_unanswered
from .apart import read_apart
from .apply import DIRECTLINK, FeedbackOutcome, apply_report
from .checkout_refunds import NOT_AT_CHECKOUT, apply_refunds, pending_refunds, read_refunds
from .platforms import checkout_platform
from .start import TOKEN_PATTERN

log = logging.getLogger(__name__)

NO_OPERATION_AT_CHECKOUT = "Checkout has no completion or void of this payment"


def _environment(settings: Settings, space_id: int) -> tuple[CheckoutEnvironment, bool] | None:
    """The configured space with this id, and whether it is the test one."""
    for env, test_mode in ((settings.checkout_test, True), (settings.checkout_live, False)):
        if env is not None and env.space_id == space_id:
            return env, test_mode
    return None


@dataclass(frozen=True)
class Work:
    """What a verified webhook asks for: refresh one of our transactions, or first find which one a
    refund belongs to (its webhook names only the refund)."""

    transaction_id: int | None = None
    refund_id: int | None = None
    test_mode: bool = True


def _ours(dbsession: Session, checkout_id: str, test_mode: bool) -> Transaction | None:
    return dbsession.scalar(
        select(Transaction)
        .join(Config, Config.id == Transaction.config_id)
        .where(
            Transaction.postfinance_id == checkout_id,
            Config.platform == CHECKOUT,
            Config.test_mode == test_mode,
        )
    )


def accept_webhook(dbsession: Session, settings: Settings, signature: str, body: bytes) -> Work:
    """What to do for a verified webhook. Raises WebhookRejected (nothing changed) for anything
    unsigned, forged, for another space or for a transaction we do not know; PlatformError when
    Checkout's key cannot be had."""
    hook = webhooks.parse(body)
    found = _environment(settings, hook.space_id)
    if found is None:
        raise webhooks.WebhookRejected(403, f"webhook for space {hook.space_id}, not ours")
    env, test_mode = found
    webhooks.verify(checkout_platform(settings, env), signature, body)
    if hook.entity == "Refund":
        return Work(refund_id=hook.entity_id, test_mode=test_mode)
    transaction = _ours(dbsession, str(hook.entity_id), test_mode)
    if transaction is None:
        raise webhooks.WebhookRejected(404, f"unknown Checkout transaction {hook.entity_id}")
    dbsession.add(
        TransactionLog(transaction=transaction, log_type="checkoutWebhook", extra_data=f"state {hook.state}")
    )
    return Work(transaction_id=transaction.id, test_mode=test_mode)


@dataclass(frozen=True)
class Question:
    """What reading one Checkout transaction needs, gathered before the HTTP call: its refunds,
    captures and cancellations still pending are read too, so that a lost webhook (or one that
    never comes: a completion that failed leaves the transaction as it was) is repaired by the
    same refresh."""

    transaction_id: int
    platform: CheckoutPlatform
    checkout_id: str
    refund_ids: tuple[int, ...] = ()
    lost_refunds: tuple[str, ...] = ()  # our references of refunds whose answer never came
    #: Lost refunds sent before this (``reconcile.stale_after`` before the question) that
    #: Checkout has none of are refused; younger ones may still be on their way.
    sent_before: datetime | None = None
    #: Pending captures and cancellations: (kind, Checkout's id of its completion or void, or ""
    #: when the answer never came, our reference).
    operations: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    """Checkout's word on the transaction, and on each of its pending refunds, captures and
    cancellations (those with an outcome)."""

    report: StatusReport | None
    refunds: list[StatusReport] = field(default_factory=list)
    missing_refunds: tuple[str, ...] = ()  # lost refunds Checkout has none of
    operations: list[StatusReport] = field(default_factory=list)
    missing_operations: tuple[str, ...] = ()  # lost captures and cancellations Checkout has none of


def _pending_operations(dbsession: Session, transaction_id: int) -> tuple[tuple[str, str, str], ...]:
    pending = dbsession.scalars(
        select(Operation)
        .where(
            Operation.transaction_id == transaction_id,
            Operation.kind.in_((CAPTURE, CANCEL)),
            Operation.state == PENDING,
            Operation.sent.is_(True),
        )
        .order_by(Operation.id)
    )
    return tuple((o.kind, o.platform_id, o.reference) for o in pending)


def prepare(dbsession: Session, settings: Settings, transaction_id: int) -> Question | None:
    """The question to ask Checkout about a transaction, or None when there is none to ask."""
    transaction = dbsession.get(Transaction, transaction_id)
    if transaction is None or transaction.config.platform != CHECKOUT or not transaction.postfinance_id:
        return None
    platform = checkout_platform(settings, settings.checkout(transaction.config.test_mode))
    refund_ids, lost = pending_refunds(dbsession, transaction_id)
    sent_before = utcnow() - settings.reconcile.stale_after
    operations = _pending_operations(dbsession, transaction_id)
    return Question(
        transaction_id, platform, transaction.postfinance_id, refund_ids, lost, sent_before, operations
    )


def ask(question: Question) -> StatusReport | None:
    """Checkout's word on the payment (PlatformError when it cannot be had)."""
    return question.platform.read_status(question.checkout_id)


def ask_all(question: Question) -> Answer:
    """The pending refunds, captures and cancellations, then the payment, as Checkout shows them
    now (PlatformError)."""
    refunds = read_refunds(
        question.platform, question.checkout_id, question.refund_ids, question.lost_refunds
    )
    report, operations, missing = question.platform.read_with_operations(
        question.checkout_id, question.operations
    )
    return Answer(report, refunds.reports, refunds.missing, operations, missing)


def apply_answer(
    dbsession: Session,
    question: Question,
    report: StatusReport | None,
    channel: str,
    client_ip: str = "",
    answer: Answer | None = None,
) -> FeedbackOutcome | None:
    """Apply what Checkout said, under the row's lock: ``answer``'s pending refunds (those it has
    none of refused once old enough), captures and cancellations first, then the payment's
    ``report``; None when it has no answer yet. ``notify`` says whether any of it made an IPN
    due."""
    transaction = dbsession.scalar(
        select(Transaction).where(Transaction.id == question.transaction_id).with_for_update()
    )
    if transaction is None or report is None:
        return None
    if report.pay_id != transaction.postfinance_id:  # never another payment's state
        log.error("Checkout answered for %s, not %s", report.pay_id, transaction.postfinance_id)
        return None
    answer = answer or Answer(report)
    refunded = apply_refunds(dbsession, transaction, answer.refunds, channel)
    if question.sent_before is not None:
        refuse_unanswered(
            dbsession, transaction, question.sent_before, NOT_AT_CHECKOUT, answer.missing_refunds
        )
        refuse_unanswered(
            dbsession,
            transaction,
            question.sent_before,
            NO_OPERATION_AT_CHECKOUT,
            answer.missing_operations,
            kinds=(CAPTURE, CANCEL),
        )
    settled_changed = False
    for settled in answer.operations:
        settled_changed |= apply_report(dbsession, transaction, settled, channel).status_changed
    outcome = apply_report(dbsession, transaction, report, channel, client_ip)
    return replace(
        outcome,
        status_changed=outcome.status_changed or settled_changed,
        refund_told=outcome.refund_told or refunded,
    )


def apply_check(
    dbsession: Session,
    settings: Settings,
    question: Question,
    answer: Answer,
    error: str = "",
) -> FeedbackOutcome | None:
    """The status janitor's question answered (or not): logged, and applied like any report."""
    report = answer.report
    if error:
        text = f"no answer: {error}"
    elif report is None:
        text = "no answer yet (the shopper has not paid)"
    else:
        text = f"status {report.status}, Checkout transaction {report.pay_id}"
    transaction = dbsession.get(Transaction, question.transaction_id)
    if transaction is not None:
        if transaction.directlink_attempts >= settings.reconcile.max_queries:
            text += " (last check)"
        dbsession.add(TransactionLog(transaction=transaction, log_type="checkoutQuery", extra_data=text))
    if error:
        return None
    return apply_answer(dbsession, question, report, DIRECTLINK, answer=answer)


def returning(dbsession: Session, settings: Settings, token: str) -> Question | None:
    """The question for a shopper back from Checkout's page (by the ``go`` token); None if unknown.
    Read apart from the request's transaction, which begins only once Checkout has answered."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    row = read_apart(
        dbsession,
        select(Transaction.id, Transaction.postfinance_id, Config.platform, Config.test_mode)
        .join(Config, Config.id == Transaction.config_id)
        .where(Transaction.token == token),
    )
    if row is None or row.platform != CHECKOUT or not row.postfinance_id:
        return None
    return Question(row.id, checkout_platform(settings, settings.checkout(row.test_mode)), row.postfinance_id)


def back_without_answer(dbsession: Session, question: Question, client_ip: str) -> None:
    """The shopper came back before Checkout had an answer (they left its page): logged only."""
    transaction = dbsession.get(Transaction, question.transaction_id)
    if transaction is not None:
        transaction.last_user_back_from_postfinance_date = utcnow()
        dbsession.add(
            TransactionLog(transaction=transaction, log_type="userBackFromPostfinance", extra_data=client_ip)
        )


def back_url(dbsession: Session, question: Question, outcome: FeedbackOutcome | None) -> str:
    """``url_back_ok`` when the payment is AUTHORIZED, COMPLETED or FULFILL, else ``url_back_err``."""
    transaction = dbsession.get(Transaction, question.transaction_id)
    ok = (
        outcome is not None and not outcome.mismatch and transaction.postfinance_status in SHOPPER_OK_STATUSES
    )
    return transaction.config.url_back_ok if ok else transaction.config.url_back_err
