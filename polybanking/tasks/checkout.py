"""Checkout tasks: read a transaction through the API after its webhook, and apply the answer.

The HTTP call runs between two short transactions (DESIGN.md: no lock held across it).
"""

import logging

from huey import Huey

from ..platforms import PlatformError
from ..services.payments import checkout
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
            report = checkout.ask(question)
        except PlatformError as error:  # Huey tries again later; the janitor is the last resort
            log.warning("transaction %s: %s", transaction_id, error)
            raise
        with task_transaction(context) as dbsession:
            outcome = checkout.apply_answer(dbsession, question, report, POSTSALE)
            changed = bool(outcome and outcome.status_changed)
        if changed:  # after commit
            send_ipn(transaction_id)
        return changed

    return checkout_refresh
