"""Applying PostFinance's feedback (PROTOCOL §5): idempotent, never backwards, one IPN per change."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Transaction, TransactionLog
from ...models.config import IPN_JSON
from ...models.meta import utcnow
from ...models.transaction import FEEDBACK
from ...platforms import CURRENCY, StatusReport
from ...platforms.epayment import feedback as pf
from ...platforms.epayment.form import parse_order_id
from ...platforms.epayment.statuses import AFTER_PAYMENT_STATUSES, is_good, is_pending
from ...settings import Settings, SettingsError
from ..ipn.payload import mark_due
from ..operations.settle import settle_report

log = logging.getLogger(__name__)

#: How a report arrived: PostFinance's post-sale request, the shopper's browser, our own
#: DirectLink question (issue 6), or the platform's answer to a refund, capture or cancellation
#: (issue 15); all go through ``apply_report``.
POSTSALE, RETURN, DIRECTLINK, OPERATION = "postsale", "return", "directlink", "operation"


class FeedbackRejected(Exception):
    """Feedback we refuse to act on; nothing was changed. ``http_status`` is the answer's."""

    def __init__(self, http_status: int, reason: str):
        super().__init__(reason)
        self.http_status = http_status
        self.reason = reason


@dataclass(frozen=True)
class FeedbackOutcome:
    transaction: Transaction
    report: StatusReport
    status_changed: bool
    mismatch: bool
    #: A refund was settled without changing the status, and the config's JSON IPN says the
    #: refunded amount: its website is told too.
    refund_told: bool = False

    @property
    def notify(self) -> bool:
        """Whether an IPN became due (queue ``send_ipn`` after commit)."""
        return self.status_changed or self.refund_told

    @property
    def shopper_ok(self) -> bool:
        """Send the shopper to ``url_back_ok``: the report says 5 or 9 and matches the order."""
        return is_good(self.report.status) and not self.mismatch


def _progress(status: str) -> int:
    """How far a status is along a payment's life, for reports of one PostFinance step.

    Waiting < failed < authorised < paid < later operations (refund, cancellation…), and within
    those later operations, pending < done. PAYIDSUB, when PostFinance sends it, decides first;
    this order is what is left when it does not (it is not in the default feedback parameters).
    """
    if status in AFTER_PAYMENT_STATUSES:
        return 4 if is_pending(status) else 5
    if is_pending(status):
        return 0
    return {"5": 2, "9": 3}.get(status, 1)


def classify(transaction: Transaction, report: StatusReport) -> str:
    """``new``, ``duplicate`` or ``stale`` for a report about ``transaction``."""
    current = transaction.postfinance_status
    if current is None:
        return "new"
    same_payment = not transaction.postfinance_id or report.pay_id == transaction.postfinance_id
    current_sub = transaction.postfinance_id_sub or 0
    if same_payment and report.pay_id_sub != current_sub:
        # PostFinance numbers each later operation (capture, refund…) with a growing PAYIDSUB.
        if report.pay_id_sub < current_sub:
            return "stale"
        return "duplicate" if report.status == current else "new"
    if report.status == current:
        return "duplicate"
    return "new" if _progress(report.status) >= _progress(current) else "stale"


def _read(params: Iterable[tuple[str, str]], settings: Settings, dbsession: Session):
    values = pf.normalise(params)
    if any("\x00" in name or "\x00" in value for name, value in values.items()):
        # PostFinance never sends one, and PostgreSQL refuses to store one (an error, not a 4xx).
        raise FeedbackRejected(400, "a parameter contains a NUL character")
    try:
        report = pf.parse(values)
    except pf.FeedbackError as error:
        raise FeedbackRejected(400, str(error)) from None
    transaction_id = parse_order_id(report.order_id, settings.orderid_prefix)
    if transaction_id is None:
        raise FeedbackRejected(404, "ORDERID is not one of ours")
    transaction = dbsession.scalar(
        select(Transaction).where(Transaction.id == transaction_id).with_for_update()
    )
    if transaction is None:
        raise FeedbackRejected(404, "unknown ORDERID")
    try:
        env = settings.environment(transaction.config.test_mode)
    except SettingsError:
        raise FeedbackRejected(404, "no PostFinance environment for this order") from None
    if not pf.verify(values, env.sha_out, settings.hash_algorithm, settings.sha_out_keys):
        raise FeedbackRejected(400, "SHA-OUT signature does not match")
    return transaction, report


def apply_feedback(
    dbsession: Session,
    settings: Settings,
    params: Iterable[tuple[str, str]],
    channel: str,
    client_ip: str = "",
) -> FeedbackOutcome:
    """Record one verified report; raises FeedbackRejected (changing nothing) when it is not."""
    transaction, report = _read(params, settings, dbsession)
    return apply_report(dbsession, transaction, report, channel, client_ip)


def apply_report(
    dbsession: Session,
    transaction: Transaction,
    report: StatusReport,
    channel: str,
    client_ip: str = "",
) -> FeedbackOutcome:
    """The one way a platform's report changes a transaction, whichever way it arrived.

    ``transaction`` is locked by the caller and ``report`` is already trusted (SHA-OUT for
    feedback; our own authenticated HTTPS question for DirectLink). Idempotent, never backwards,
    amount and currency checked, logged; the IPN outbox is set on a real status change.
    """
    now = utcnow()

    def add_log(log_type: str, extra: str = "") -> None:
        dbsession.add(TransactionLog(transaction=transaction, log_type=log_type, extra_data=extra, when=now))

    transaction.internal_status = FEEDBACK
    if channel == RETURN:
        transaction.last_user_back_from_postfinance_date = now
        add_log("userBackFromPostfinance", client_ip)
    elif channel == POSTSALE:
        transaction.last_postfinance_ipn_date = now

    if report.amount_cents != transaction.amount or report.currency.upper() != CURRENCY:
        transaction.flagged = True
        add_log(
            "postfinanceMismatch",
            f"status {report.status}, amount {report.amount_raw or '-'} {report.currency or '-'}, "
            f"expected {transaction.amount / 100:.2f} {CURRENCY}",
        )
        log.warning("feedback for transaction %s does not match its amount/currency", transaction.id)
        return FeedbackOutcome(transaction, report, status_changed=False, mismatch=True)

    settlement = settle_report(dbsession, transaction, report)
    if settlement.hold:
        # An operation was settled (or is still pending) without changing the status websites see.
        if report.pay_id == transaction.postfinance_id:
            transaction.postfinance_id_sub = max(report.pay_id_sub, transaction.postfinance_id_sub or 0)
        told = settlement.refunded and transaction.config.ipn_format == IPN_JSON
        if told:
            mark_due(transaction, now)
            add_log("refundTold", f"refunded {transaction.refunded_amount / 100:.2f} {CURRENCY} in all")
        return FeedbackOutcome(transaction, report, status_changed=False, mismatch=False, refund_told=told)

    if settlement.authorised_again:
        # PostFinance refused the cancellation shown pending: the payment is authorised as before.
        report = replace(report, status="5")
        settlement = replace(settlement, current=True)
    verdict = classify(transaction, report)
    if settlement.current and report.pay_id == transaction.postfinance_id:
        # Read with the operation it settled: the payment's state now, never stale; the rank our
        # pending answer gave (91 or 61 while Checkout had not finished) was ours, not Checkout's.
        verdict = "duplicate" if report.status == transaction.postfinance_status else "new"
        transaction.postfinance_id_sub = report.pay_id_sub
    if verdict == "stale":
        add_log("postfinanceIgnored", f"stale report: status {report.status}, PAYIDSUB {report.pay_id_sub}")
        return FeedbackOutcome(transaction, report, status_changed=False, mismatch=False)

    if report.pay_id and report.pay_id != transaction.postfinance_id:
        transaction.postfinance_id = report.pay_id
        transaction.postfinance_id_sub = report.pay_id_sub
        add_log("postfinanceId", report.pay_id)
    else:
        transaction.postfinance_id_sub = max(report.pay_id_sub, transaction.postfinance_id_sub or 0)
    if verdict == "duplicate":
        # The normal case: the browser's return and the post-sale say the same thing.
        add_log("postfinanceRepeated", f"status {report.status} again")
        return FeedbackOutcome(transaction, report, status_changed=False, mismatch=False)

    transaction.postfinance_status = report.status
    if channel in (DIRECTLINK, OPERATION):
        # Our question is no report of PostFinance's unless it brings news; then the IPN's
        # ``last_update`` says when we learnt it.
        transaction.last_postfinance_ipn_date = now
    transaction.brand = report.brand or transaction.brand
    transaction.card = report.card or transaction.card
    mark_due(transaction, now)  # the outbox, written with the status; the schedule starts again
    # A new status starts a new round of DirectLink checks, should it be an uncertain one.
    transaction.directlink_attempts = 0
    transaction.directlink_next_at = None
    add_log("postfinanceStatus", report.status)
    return FeedbackOutcome(transaction, report, status_changed=True, mismatch=False)
