"""``polybanking refund|capture|cancel``: an operation on one transaction, from the command line.

It asks for confirmation with the amount in CHF unless ``--yes`` (for scripts); the operation is
written, then the worker asks PostFinance (the queue's task, queued after commit), as for the
admin pages and the API.
"""

import secrets
import sys
from collections.abc import Callable

from ..models.operation import REFUND
from ..services.operations.errors import OperationRefused
from ..services.operations.request import preview, request_operation
from ..tasks.queue import enqueue_after_commit
from .commands import CommandError, _os_user
from .ipn import _session, find_one

VERBS = {"refund": "Refund", "capture": "Capture", "cancel": "Cancel"}


def ask_on_terminal(question: str) -> bool:
    if not sys.stdin.isatty():
        raise CommandError("no terminal to confirm on: add --yes")
    return input(question).strip().lower() in ("y", "yes")


def operate(
    ini: str,
    kind: str,
    *,
    config: str,
    reference: str,
    amount: int | None,
    reason: str,
    yes: bool = False,
    confirm: Callable[[str], bool] = ask_on_terminal,
) -> str:
    if amount is not None and (kind != REFUND or amount <= 0):
        raise CommandError("--amount is for refunds, a positive number of cents")
    if not reason.strip():
        raise CommandError("--reason must say why")
    with _session(ini, with_tasks=True) as (dbsession, manager, tasks):
        transaction = find_one(dbsession, config, reference)
        try:
            cents = preview(transaction, kind, amount)
            question = (
                f"{VERBS[kind]} CHF {cents / 100:.2f} of {reference!r} "
                f"(config {transaction.config_id} {transaction.config.name})? [y/N] "
            )
            if not yes and not confirm(question):
                raise CommandError("nothing done")
            requested = request_operation(
                dbsession,
                transaction,
                kind,
                amount,
                idempotency_key="cli-" + secrets.token_urlsafe(24),
                requested_by=f"cli:{_os_user()}"[:255],
                reason=reason.strip(),
            )
        except OperationRefused as refused:
            raise CommandError(f"{kind} refused: {refused.message}") from None
        operation = requested.operation
        enqueue_after_commit(manager, tasks.run_operation, operation.id, subject=f"operation {operation.id}")
        return f"{kind} #{operation.id} of CHF {cents / 100:.2f} asked; the worker asks PostFinance"
