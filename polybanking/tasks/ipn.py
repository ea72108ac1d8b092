"""The IPN task: one delivery attempt, in transactions of its own around the HTTP call."""

from huey import Huey

from ..services import ipn
from .queue import TaskContext, task_transaction


def register(huey: Huey, context: TaskContext):
    timeout = float(context.raw_settings.get("ipn.timeout", "10") or 10)

    @huey.task(name="send_ipn")
    def send_ipn(transaction_id: int) -> bool:
        with task_transaction(context) as dbsession:
            delivery = ipn.prepare(dbsession, transaction_id)
        if delivery is None:
            return False
        attempt = ipn.send(delivery, timeout=timeout)
        with task_transaction(context) as dbsession:
            ipn.record(dbsession, transaction_id, delivery, attempt)
        return attempt.ok

    return send_ipn
