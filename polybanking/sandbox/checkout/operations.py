"""The Checkout sandbox's operations API: refunds (``POST /payment/refunds``), completion and void
of an AUTHORIZED transaction (``…/complete-online``, ``…/void-online``), as the SDK asks them,
and each read back (``…/completions/{id}``, ``…/voids/{id}``).

As the e-payment sandbox does, the amount's cents choose what happens: ``…81`` stays pending
(the back office settles it later: it succeeds or fails), ``…83`` fails, anything else succeeds;
a completion of ``…91`` succeeds but leaves the transaction COMPLETED (risk checks running) for
the back office to fulfil or decline. A failed completion or void leaves the transaction
AUTHORIZED. Each state is followed by its signed webhook (Refund or Transaction) before the
answer, as the hosted page does.
"""

import json
import re
from decimal import Decimal, InvalidOperation

from .api import MAX_LIMIT, _json, _transaction, api_view, error
from .auth import Account, Refused
from .pages import REFUNDABLE, play, send_webhook
from .store import outcome_by_cents, risk_checks_pending

MAX_EXTERNAL_ID = 100
_EXTERNAL_ID_QUERY = re.compile(r'externalId:"((?:[^"\\]|\\.)*)"')
_LINKED_QUERY = re.compile(r"linkedTransaction:([0-9]{1,18})")


def _refund_body(request) -> tuple[dict, Decimal]:
    """The RefundCreate's fields the sandbox reads; ValueError naming what is wrong."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a RefundCreate object")
    external_id = body.get("externalId")
    if not isinstance(external_id, str) or not 0 < len(external_id) <= MAX_EXTERNAL_ID:
        raise ValueError("externalId: 1 to 100 characters are required")
    if body.get("type") not in ("MERCHANT_INITIATED_ONLINE", "MERCHANT_INITIATED_OFFLINE"):
        raise ValueError("type: a merchant-initiated refund type is required")
    transaction = body.get("transaction")
    if isinstance(transaction, bool) or not isinstance(transaction, int):
        raise ValueError("transaction: the id of the transaction to refund is required")
    raw = body.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("amount: a number is required")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError("amount: a number is required") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount: a positive amount in cents is required")
    return body, amount


@api_view("sandbox.checkout.refunds", "POST")
def create_refund(request, account: Account):
    """A refund of (part of) a captured transaction; the same ``externalId`` answers the same one."""
    try:
        body, amount = _refund_body(request)
    except ValueError as problem:
        return error(422, "UNPROCESSABLE_ENTITY", "the refund is not valid", {"refund": str(problem)})
    store = request.registry.checkout_sandbox_store
    transaction = store.get(account.space_id, body["transaction"])
    if transaction is None:
        return error(404, "NOT_FOUND", "no transaction with this id in this space")
    if transaction.state not in REFUNDABLE:
        return error(409, "CONFLICT", f"a {transaction.state} transaction cannot be refunded")
    try:
        refund, created = store.refund_once(
            transaction, amount, body["externalId"], str(body.get("merchantReference") or "")
        )
    except ValueError as problem:
        return error(409, "CONFLICT", f"the refund exceeds what is left: {problem}")
    if created:
        send_webhook(request.registry, transaction, refund["id"], refund["state"], "Refund")
    return _json(transaction.refund_json(refund), 201)


@api_view("sandbox.checkout.refund_search", "GET")
def search_refunds(request, account: Account):
    """By ``externalId:"<value>"`` only (how PolyBanking finds a refund whose answer was lost);
    every refund of the space with it, up to ``limit``."""
    match = _EXTERNAL_ID_QUERY.fullmatch((request.GET.get("query") or "").strip())
    if match is None:
        return error(400, "BAD_REQUEST", "unsupported query", {"query": 'externalId:"<value>"'})
    raw_limit = request.GET.get("limit") or "10"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return error(400, "BAD_REQUEST", "limit is 1 to 100")
    external_id = re.sub(r"\\(.)", r"\1", match.group(1))
    found = request.registry.checkout_sandbox_store.refunds_by_external_id(account.space_id, external_id)
    data = [transaction.refund_json(refund) for transaction, refund in found[: int(raw_limit)]]
    return _json({"data": data, "offset": 0, "limit": int(raw_limit), "hasMore": len(found) > len(data)})


def _operation_json(transaction, operation: dict) -> dict:
    answer = {
        "id": operation["id"],
        "state": operation["state"],
        "linkedTransaction": transaction.id,
        "linkedSpaceId": transaction.space_id,
        "createdOn": operation["created_on"],
        "mode": "ONLINE",
    }
    if operation["kind"] == "completion":
        answer.update(amount=float(transaction.amount), lastCompletion=True)
    else:
        answer["transaction"] = transaction.as_json()
    if operation["state"] == "FAILED":
        answer["failureReason"] = {
            "description": {"en-US": f"The processor declined the {operation['kind']}."}
        }
    return answer


def _operate(request, account: Account, kind: str, states: tuple[str, ...]):
    try:
        transaction = _transaction(request, account)
    except Refused as refused:
        return error(refused.status, refused.code, refused.message)
    if transaction.state != "AUTHORIZED":
        return error(
            409, "CONFLICT", f"only an AUTHORIZED transaction allows a {kind}, not {transaction.state}"
        )
    state = outcome_by_cents(transaction.amount)
    operation = request.registry.checkout_sandbox_store.operation(transaction, kind, state)
    if state == "SUCCESSFUL":
        checking = kind == "completion" and risk_checks_pending(transaction.amount)
        play(request.registry, transaction, states[:1] if checking else states)
    return _json(_operation_json(transaction, operation))


def _read_operation(request, account: Account, kind: str):
    found = request.registry.checkout_sandbox_store.find_operation(
        account.space_id, kind, int(request.matchdict["id"])
    )
    if found is None:
        return error(404, "NOT_FOUND", f"no transaction {kind} with this id in this space")
    return _json(_operation_json(*found))


def _search_operations(request, account: Account, kind: str):
    """By ``linkedTransaction:<id>`` only (how PolyBanking finds a completion or void whose
    answer was lost): the transaction's, newest first, up to ``limit``."""
    match = _LINKED_QUERY.fullmatch((request.GET.get("query") or "").strip())
    if match is None:
        return error(400, "BAD_REQUEST", "unsupported query", {"query": "linkedTransaction:<id>"})
    raw_limit = request.GET.get("limit") or "10"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return error(400, "BAD_REQUEST", "limit is 1 to 100")
    found = request.registry.checkout_sandbox_store.operations_of(account.space_id, int(match.group(1)), kind)
    data = [_operation_json(transaction, operation) for transaction, operation in found[: int(raw_limit)]]
    return _json({"data": data, "offset": 0, "limit": int(raw_limit), "hasMore": len(found) > len(data)})


@api_view("sandbox.checkout.completion_search", "GET")
def search_completions(request, account: Account):
    return _search_operations(request, account, "completion")


@api_view("sandbox.checkout.void_search", "GET")
def search_voids(request, account: Account):
    return _search_operations(request, account, "void")


@api_view("sandbox.checkout.completion", "GET")
def read_completion(request, account: Account):
    return _read_operation(request, account, "completion")


@api_view("sandbox.checkout.void_read", "GET")
def read_void(request, account: Account):
    return _read_operation(request, account, "void")


@api_view("sandbox.checkout.complete", "POST")
def complete_online(request, account: Account):
    """Capture: the transaction goes COMPLETED, then FULFILL (the sandbox runs no risk checks)."""
    return _operate(request, account, "completion", ("COMPLETED", "FULFILL"))


@api_view("sandbox.checkout.void", "POST")
def void_online(request, account: Account):
    return _operate(request, account, "void", ("VOIDED",))
