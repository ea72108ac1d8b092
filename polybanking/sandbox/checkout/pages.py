"""The Checkout sandbox's pages: the hosted payment page and the back office.

Each state a payment goes through is followed by its signed webhook (unless the tester loses
them), sent before the browser moves on, so a test sees every state the gateway was told of.
"""

import logging

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ...platforms.checkout import export
from ..epayment.views import HOSTED_PAGE_CSP
from . import accounts
from . import signer as webhooks
from .api import csv_response
from .store import METHODS, OPERATIONS, OUTCOMES, REFUND_STATES, WAITING, SandboxTransaction

log = logging.getLogger(__name__)

#: After these, the shopper is sent to ``successUrl``; after any other, to ``failedUrl``.
SUCCESS_STATES = ("AUTHORIZED", "COMPLETED", "FULFILL")
#: A refund needs a captured payment.
REFUNDABLE = ("COMPLETED", "FULFILL")
#: The back office's operations that also settle a completion or void the API left PENDING.
SETTLES = {"complete": "completion", "void": "void"}


def send_webhook(
    registry, transaction: SandboxTransaction, entity_id: int, state: str, entity: str
) -> int | None:
    store, signer = registry.checkout_sandbox_store, registry.checkout_sandbox_signer
    body = webhooks.webhook_body(store.next_event_id(), transaction.space_id, entity_id, state, entity)
    return webhooks.send(registry.checkout_sandbox_webhook_url, signer, body)


def play(registry, transaction: SandboxTransaction, states, lose: bool = False) -> list[int | None]:
    """Move ``transaction`` through ``states``, sending each state's signed webhook in turn."""
    answers = []
    for state in states:
        registry.checkout_sandbox_store.move(transaction, state)
        if not lose:
            answers.append(send_webhook(registry, transaction, transaction.id, state, "Transaction"))
    return answers


def refund(registry, transaction: SandboxTransaction, state: str, lose: bool = False) -> None:
    """Refund what is left of a paid transaction, the refund ending in ``state``; its webhook."""
    refund = registry.checkout_sandbox_store.refund(
        transaction, transaction.amount - transaction.reserved, state
    )
    if not lose:
        send_webhook(registry, transaction, refund["id"], state, "Refund")


def _found(request) -> SandboxTransaction:
    transaction = request.registry.checkout_sandbox_store.find(int(request.matchdict["id"]))
    if transaction is None:
        raise HTTPNotFound()
    return transaction


@view_defaults(
    route_name="sandbox.checkout.pay",
    renderer="polybanking:templates/sandbox/checkout/pay.jinja2",
    require_csrf=False,
)
class HostedPage:
    def __init__(self, request):
        self.request = request
        request.response.headers["Content-Security-Policy"] = HOSTED_PAGE_CSP

    @view_config(request_method="GET")
    def get(self):
        transaction = _found(self.request)
        return {"transaction": transaction, "methods": METHODS, "payable": transaction.state in WAITING}

    @view_config(request_method="POST")
    def post(self):
        transaction = _found(self.request)
        outcome = self.request.POST.get("outcome", "")
        method = self.request.POST.get("method", METHODS[0])
        if outcome not in OUTCOMES or method not in METHODS:
            raise HTTPBadRequest("choose a payment method and an outcome")
        if transaction.state not in WAITING:
            return {"transaction": transaction, "methods": METHODS, "payable": False}
        transaction.method = method
        self.request.registry.checkout_sandbox_store.move(transaction, "CONFIRMED")
        play(self.request.registry, transaction, OUTCOMES[outcome], lose=bool(self.request.POST.get("lose")))
        url = transaction.success_url if transaction.state in SUCCESS_STATES else transaction.failed_url
        return HTTPSeeOther(location=url)


@view_defaults(
    route_name="sandbox.checkout.transactions",
    renderer="polybanking:templates/sandbox/checkout/transactions.jinja2",
    require_csrf=False,
)
class BackOffice:
    """Later operations (complete, fulfil, decline, void, a refund and its outcome, a pending
    completion or void that fails), a webhook sent again, or one lost."""

    def __init__(self, request):
        self.request = request

    def _page(self, message: str = ""):
        return {
            "transactions": self.request.registry.checkout_sandbox_store.recent(),
            "operations": OPERATIONS,
            "settles": SETTLES,
            "message": message,
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST")
    def post(self):
        raw_id = self.request.POST.get("id", "")
        operation = self.request.POST.get("operation", "")
        transaction = (
            self.request.registry.checkout_sandbox_store.find(int(raw_id)) if raw_id.isdigit() else None
        )
        if transaction is None:
            raise HTTPNotFound()
        lose = bool(self.request.POST.get("lose"))
        if operation == "resend":
            play(self.request.registry, transaction, (transaction.state,), lose)
        elif (
            operation.startswith("refund-")
            and transaction.state in REFUNDABLE
            and transaction.reserved < transaction.amount
        ):
            state = operation.removeprefix("refund-").upper()
            if state not in REFUND_STATES:
                raise HTTPNotFound()
            refund(self.request.registry, transaction, state, lose)
        elif operation.startswith("settle-") and operation.removeprefix("settle-").upper() in REFUND_STATES:
            for settled in self.request.registry.checkout_sandbox_store.settle_refunds(
                transaction, operation.removeprefix("settle-").upper()
            ):
                if not lose:
                    send_webhook(
                        self.request.registry, transaction, settled["id"], settled["state"], "Refund"
                    )
        elif operation.endswith("-failed") and operation.removesuffix("-failed") in SETTLES:
            # Checkout's processor refused it: the transaction stays AUTHORIZED (no webhook of
            # the Transaction, whose state does not change; PolyBanking listens to no other).
            kind = SETTLES[operation.removesuffix("-failed")]
            store = self.request.registry.checkout_sandbox_store
            if store.settle_operation(transaction, kind, "FAILED") is None:
                self.request.response.status_int = 409
                return self._page(f"no pending {kind} of transaction {transaction.id}")
        elif operation in OPERATIONS and transaction.state in OPERATIONS[operation][0]:
            if operation in SETTLES:
                store = self.request.registry.checkout_sandbox_store
                store.settle_operation(transaction, SETTLES[operation], "SUCCESSFUL")
            play(self.request.registry, transaction, OPERATIONS[operation][1], lose)
        else:
            self.request.response.status_int = 409
            return self._page(f"{operation or 'nothing'} is not possible in state {transaction.state}")
        return HTTPSeeOther(location=self.request.route_path("sandbox.checkout.transactions"))


@view_config(route_name="sandbox.checkout.download", request_method="GET", require_csrf=False)
def download(request):
    """The back office's export of a space's transactions (``?space=``, default the test one)."""
    raw = request.GET.get("space", "")
    spaces = {account.space_id for account in accounts(request.registry.pb_settings)}
    space = int(raw) if raw.isdigit() else min(spaces, default=0)
    if space not in spaces:
        raise HTTPNotFound()
    found = request.registry.checkout_sandbox_store.search(space, None)
    return csv_response(export.write_export([t.as_json() for t in found]))
