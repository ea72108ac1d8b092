"""Refund, capture or cancel one transaction from its page: a form, a confirmation showing the
amount in CHF, then the operation (asked of the platform by a task once this request commits).

The idempotency key is drawn when the transaction page is shown and travels through the
confirmation, so a double click or a re-sent form is the same operation, never a second one.
"""

import logging
import secrets

from pyramid.view import view_config, view_defaults

from ...models.operation import IDEMPOTENCY_KEY_MAX_LENGTH, KINDS, REFUND
from ...security import TRANSACTION_OPERATE
from ...services.admin.configs import parse_chf
from ...services.operations.errors import OperationRefused
from ...services.operations.request import preview, request_operation
from ...tasks.queue import enqueue_after_commit
from .forms import checked, flash, read_form, see_other

log = logging.getLogger(__name__)

VERBS = {"refund": "Refund", "capture": "Capture", "cancel": "Cancel"}


def new_key() -> str:
    return "admin-" + secrets.token_urlsafe(24)


@view_defaults(
    route_name="admin.transaction.operate",
    permission=TRANSACTION_OPERATE,
    renderer="polybanking:templates/admin/transactions/confirm.jinja2",
)
class OperationView:
    def __init__(self, request):
        self.request = request
        self.transaction = request.context.transaction

    def _back(self, message: str):
        flash(self.request, message)
        return see_other(self.request, "admin.transaction.show", transaction_id=self.transaction.id)

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        kind = form.get("kind", "")
        key = form.get("key", "")
        if kind not in KINDS or not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            return self._back("The form could not be read; please try again.")
        reason = form.get("reason", "").strip()
        try:
            amount = parse_chf(form.get("amount", "")) if kind == REFUND else None
        except ValueError as error:
            return self._back(f"Amount: in CHF, {error}.")
        try:
            cents = preview(self.transaction, kind, amount)
            if not checked(form, "confirm"):
                return {
                    "transaction": self.transaction,
                    "kind": kind,
                    "verb": VERBS[kind],
                    "cents": cents,
                    "amount": form.get("amount", ""),
                    "reason": reason,
                    "key": key,
                }
            user = self.request.identity
            requested = request_operation(
                self.request.dbsession,
                self.transaction,
                kind,
                amount,
                idempotency_key=key,
                requested_by=f"user:{user.username}",
                reason=reason,
            )
        except OperationRefused as refused:
            return self._back(f"{VERBS[kind]} refused: {refused.message}.")
        operation = requested.operation
        if not requested.created:
            return self._back(
                f"This {kind} was asked already (operation #{operation.id}, {operation.state})."
            )
        registry = self.request.registry
        enqueue_after_commit(
            self.request.tm,
            registry.tasks.run_operation,
            operation.id,
            breaker=registry.queue_breaker,
            subject=f"operation {operation.id}",
        )
        log.info("user %s asked a %s of transaction %s", user.username, kind, self.transaction.id)
        return self._back(
            f"{VERBS[kind]} of CHF {cents / 100:.2f} asked; PostFinance's answer appears below."
        )
