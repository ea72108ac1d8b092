"""The IPN tasks: ``send_ipn(transaction_id)``, queued after a status change, and the periodic
outbox scan that delivers whatever is due, so a lost message or a crashed worker only delays an IPN.

Retries need no message of their own: the next attempt's time is in the database and the scan
finds it. Only a retry due before the next scan gets a scheduled ``send_ipn``, so a 5 s retry is
not a minute late.
"""

import logging

from huey import Huey

from ..services.ipn.delivery import IpnDeliverer
from ..services.ipn.outbox import Recorded
from ..services.ipn.schedule import IpnPolicy
from .context import TaskContext

log = logging.getLogger(__name__)

#: When a website's share of the posting threads is taken, its next IPN is tried after this.
BUSY_RETRY_SECONDS = 2.0


def _always(_when) -> bool:
    """Every time the consumer checks its periodic tasks (each ``ipn.scan_interval``; tasks/consumer.py)."""
    return True


def register(huey: Huey, context: TaskContext, policy: IpnPolicy):
    """Register the IPN tasks; returns (send_ipn, deliver_due_ipns, the deliverer they share)."""
    deliverer = IpnDeliverer(context.session_factory, policy)

    def schedule_soon(outcomes: list[Recorded]) -> None:
        now = deliverer.clock()
        for outcome in outcomes:
            if outcome.next_attempt_at is None or outcome.superseded:
                continue
            delay = (outcome.next_attempt_at - now).total_seconds()
            if outcome.released:  # its website had its share of the threads: a little later
                delay = max(delay, BUSY_RETRY_SECONDS)
            if delay < policy.scan_interval:
                send_ipn.schedule(args=(outcome.transaction_id,), delay=max(delay, 0))

    @huey.task(name="send_ipn")
    def send_ipn(transaction_id: int) -> None:
        """Deliver this transaction's IPN if it is due; a no-op otherwise (another worker has it,
        or it was delivered already). Returns nothing: Huey would keep a result for ever."""
        schedule_soon(deliverer.deliver(transaction_id))

    @huey.periodic_task(_always, name="deliver_due_ipns")
    def deliver_due_ipns() -> None:
        """The outbox scan: deliver everything due, then schedule what falls due before the next scan."""
        summary = deliverer.deliver_due(budget_seconds=max(policy.scan_interval, 30))
        for transaction_id, when in deliverer.upcoming(policy.scan_interval):
            delay = (when - deliverer.clock()).total_seconds()
            send_ipn.schedule(args=(transaction_id,), delay=max(delay, 0) + 0.5)
        if summary.outcomes:
            log.info(
                "IPN scan: %d delivered, %d failed attempts, %d given up",
                summary.delivered,
                summary.failed_attempts,
                summary.given_up,
            )

    return send_ipn, deliver_due_ipns, deliverer
