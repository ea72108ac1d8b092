"""Checkout tasks: read a transaction through the API after its webhook, and apply the answer.

The HTTP call runs between two short transactions (DESIGN.md: no lock held across it).
"""

import logging

from huey import Huey

from ..platforms import PlatformError
from ..services.payments import checkout, checkout_refunds
from ..services.payments.apply import POSTSALE
from .context import TaskContext, task_transaction

log = logging.getLogger(__name__)


def register(huey: Huey, context: TaskContext, send_ipn):
    settings = context.settings

    @huey.task(name="checkout_refresh", retries=5, retry_delay=60)
    def checkout_refresh(transaction_id: int) -> bool:
        """Read one Checkout transaction and apply its state; True when the status changed."""
        with task_transaction(context) as dbsession:
            question = checkout.prepare(dbsession, settings, transaction_id)
        if question is None:
            return False
        try:
            answer = checkout.ask_all(question)
        except PlatformError as error:  # Huey tries again later; the janitor is the last resort
            log.warning("transaction %s: %s", transaction_id, error)
            raise
        with task_transaction(context) as dbsession:
            outcome = checkout.apply_answer(dbsession, question, answer.report, POSTSALE, answer=answer)
            changed = bool(outcome and outcome.notify)
        if changed:  # after commit
            send_ipn(transaction_id)
        return changed

    @huey.task(name="checkout_refund_refresh", retries=5, retry_delay=60)
    def checkout_refund_refresh(test_mode: bool, refund_id: int) -> bool:
        """A refund's webhook: read the refund, settle our operation it names (``apply_report``),
        then refresh its transaction (a refund made in Checkout's back office shows there)."""
        try:
            report = checkout_refunds.read_refund(settings, test_mode, refund_id)
        except PlatformError as error:
            log.warning("refund %s: %s", refund_id, error)
            raise
        if report is None:
            return False
        with task_transaction(context) as dbsession:
            transaction_id, changed = checkout_refunds.apply_webhook_refund(dbsession, report, test_mode)
        if transaction_id is None:
            log.info(
                "refund %s belongs to Checkout transaction %s, not one of ours", refund_id, report.pay_id
            )
            return False
        if changed:  # after commit
            send_ipn(transaction_id)
        return checkout_refresh.call_local(transaction_id) or changed

    return checkout_refresh, checkout_refund_refresh
