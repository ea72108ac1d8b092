"""Asking PostFinance (DirectLink, PROTOCOL §9; Checkout's API for Checkout configs, §11) about
payments whose outcome we do not know.

Which ones: forwarded to PostFinance more than ``reconcile.stale_after`` ago without any feedback,
those left in an uncertain status (52, 92; Checkout's PROCESSING, COMPLETED) as long, and those
with a refund, capture or cancellation still pending that long after it was sent (its answer was
pending or never came). Each is asked at most ``reconcile.max_queries`` times per status, with
growing pauses, and not once it is older than ``reconcile.give_up_after``. The answer is applied
like a feedback (``feedback.apply_report``). A refund, capture or cancellation whose maintenance
call gave no answer is refused once it is that old and PostFinance shows no operation on the
payment after the last one we know of (``operations.unanswered``): it never reached PostFinance,
or was refused there.

The HTTP call happens in a task between two short transactions: ``claim_due`` (which counts the
question before it is asked, so two workers never ask twice) and ``apply_answer``.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ...models import Config, Operation, Transaction, TransactionLog
from ...models.meta import utcnow
from ...models.operation import KINDS, PENDING
from ...models.transaction import FORWARDED
from ...platforms import CHECKOUT, EPAYMENT
from ...platforms.checkout.states import UNSETTLED_STATUSES as CHECKOUT_UNSETTLED
from ...platforms.epayment import directlink
from ...platforms.epayment.feedback import FeedbackError
from ...platforms.epayment.form import format_order_id
from ...platforms.epayment.statuses import UNCERTAIN_STATUSES
from ...settings import PostFinanceEnvironment, Settings
from ..operations.unanswered import refuse_unanswered
from ..payments.apply import DIRECTLINK, FeedbackOutcome, apply_report

log = logging.getLogger(__name__)

BATCH = 100
LONGEST_PAUSE = timedelta(hours=12)


def _environment(settings: Settings, test_mode: bool) -> PostFinanceEnvironment | None:
    """The environment's DirectLink access, or None when it has none configured."""
    env = settings.test if test_mode else settings.prod
    if env is None or not (env.userid and env.password and env.query_url):
        return None
    return env


def _checkout(settings: Settings, test_mode: bool) -> bool:
    return (settings.checkout_test if test_mode else settings.checkout_live) is not None


def pause(settings: Settings, attempts: int) -> timedelta:
    """Wait before the next question: stale_after, then doubling, at most 12 hours."""
    return min(settings.reconcile.stale_after * (2 ** max(attempts - 1, 0)), LONGEST_PAUSE)


def claim_due(
    dbsession: Session, settings: Settings, now: datetime | None = None, limit: int = BATCH
) -> list[int]:
    """The transactions to ask about now, each counted as asked (attempts, next time)."""
    now = now or utcnow()
    config = settings.reconcile
    cutoff = now - config.stale_after
    modes = [mode for mode in (True, False) if _environment(settings, mode) is not None]
    checkout_modes = [mode for mode in (True, False) if _checkout(settings, mode)]
    if not modes and not checkout_modes:
        return []
    t = Transaction
    epayment = and_(Config.platform == EPAYMENT, Config.test_mode.in_(modes))
    checkout = and_(Config.platform == CHECKOUT, Config.test_mode.in_(checkout_modes))
    uncertain = or_(
        and_(epayment, t.postfinance_status.in_(sorted(UNCERTAIN_STATUSES))),
        and_(checkout, t.postfinance_status.in_(sorted(CHECKOUT_UNSETTLED))),
    )
    quiet_since_cutoff = and_(
        or_(t.last_postfinance_ipn_date.is_(None), t.last_postfinance_ipn_date < cutoff),
        or_(
            t.last_user_back_from_postfinance_date.is_(None), t.last_user_back_from_postfinance_date < cutoff
        ),
    )
    operation_pending = select(Operation.transaction_id).where(
        Operation.state == PENDING,
        Operation.sent.is_(True),
        Operation.updated_at < cutoff,
        Operation.updated_at >= now - config.give_up_after,
    )
    query = (
        select(t)
        .join(Config, Config.id == t.config_id)
        .where(
            or_(epayment, checkout),
            t.directlink_attempts < config.max_queries,
            or_(t.directlink_next_at.is_(None), t.directlink_next_at <= now),
            or_(
                and_(
                    t.last_userforwarded_date >= now - config.give_up_after,
                    or_(
                        and_(t.internal_status == FORWARDED, t.last_userforwarded_date < cutoff),
                        and_(uncertain, quiet_since_cutoff),
                    ),
                ),
                t.id.in_(operation_pending),
            ),
        )
        .order_by(t.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for transaction in dbsession.scalars(query):
        transaction.directlink_attempts += 1
        transaction.directlink_next_at = now + pause(settings, transaction.directlink_attempts)
        claimed.append(transaction.id)
    return claimed


@dataclass(frozen=True)
class Question:
    transaction_id: int
    url: str
    fields: dict[str, str]
    #: Operations without an answer sent before this (``reconcile.stale_after`` before the question)
    #: that PostFinance shows no trace of are refused; younger ones may still be on their way.
    sent_before: datetime | None = None

    def __repr__(self) -> str:  # never show PSWD
        return f"<Question transaction {self.transaction_id} to {self.url}>"


def prepare(dbsession: Session, settings: Settings, transaction_id: int) -> Question | None:
    """What to send for one transaction, or None when its environment has no DirectLink access."""
    transaction = dbsession.get(Transaction, transaction_id)
    if transaction is None:
        return None
    env = _environment(settings, transaction.config.test_mode)
    if env is None:
        return None
    order_id = format_order_id(settings.orderid_prefix, transaction.id)
    return Question(
        transaction.id,
        env.query_url,
        directlink.query_fields(env.pspid, env.userid, env.password, order_id),
        utcnow() - settings.reconcile.stale_after,
    )


def apply_answer(
    dbsession: Session,
    settings: Settings,
    question: Question,
    answer: directlink.Answer | None,
    error: str = "",
) -> FeedbackOutcome | None:
    """Log what PostFinance said and apply it like a feedback; None when it told us no status."""
    transaction = dbsession.get(Transaction, question.transaction_id, with_for_update=True)
    if transaction is None:
        return None
    last = transaction.directlink_attempts >= settings.reconcile.max_queries
    suffix = " (last check)" if last else ""

    def note(text: str) -> None:
        dbsession.add(
            TransactionLog(transaction=transaction, log_type="directLink", extra_data=text + suffix)
        )

    if answer is None:
        note(f"no answer: {error}")
        log.warning("DirectLink check of transaction %s failed: %s", transaction.id, error)
        return None
    if answer.order_id != question.fields["ORDERID"]:
        note(f"answer about another order ({answer.order_id[:40]!r}) ignored")
        return None
    if not answer.status:
        known = "unknown to PostFinance" if answer.nc_error == directlink.UNKNOWN_ORDER else "no status"
        note(f"{known} (NCERROR {answer.nc_error[:20]}: {answer.nc_error_plus})")
        return None
    try:
        report = answer.as_feedback()
    except FeedbackError as problem:
        note(f"unreadable answer: {problem}")
        return None
    note(f"status {report.status}, PAYID {report.pay_id or '-'}/{report.pay_id_sub}")
    known = transaction.postfinance_id, transaction.postfinance_id_sub or 0
    outcome = apply_report(dbsession, transaction, report, DIRECTLINK)
    if (
        question.sent_before is not None
        and not outcome.mismatch
        and answer.values.get("PAYIDSUB")
        and report.pay_id == known[0]
        and report.pay_id_sub <= known[1]
    ):
        # Nothing happened to the payment at PostFinance since its last operation we know of.
        text = f"PostFinance shows no operation after PAYID {known[0]}/{known[1]}"
        refuse_unanswered(dbsession, transaction, question.sent_before, text, kinds=KINDS)
    return outcome
