"""The Checkout sandbox's API (PROTOCOL §11): the calls PolyBanking makes, as the SDK makes them."""

import json
import re
import uuid
from decimal import Decimal, InvalidOperation

from pyramid.response import Response
from pyramid.view import view_config

from ...platforms.checkout import export
from . import API, accounts
from .auth import Account, Refused, authenticate
from .store import WAITING, timestamp

MAX_LIMIT = 100
_REFERENCE_QUERY = re.compile(r'merchantReference:(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _json(value, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, content_type="application/json", charset="utf-8")


def error(status: int, code: str, message: str, errors: dict | None = None) -> Response:
    """Checkout's error body (the SDK's ``RestApiErrorResponse``)."""
    body = {"date": timestamp(), "code": code, "id": str(uuid.uuid4()), "message": message}
    if errors:
        body["errors"] = errors
    return _json(body, status)


def _account(request, space: bool = True) -> Account:
    path_qs = request.path_qs.replace(API, "/api/v2.0", 1)
    return authenticate(
        accounts(request.registry.pb_settings),
        request.headers.get("Authorization", ""),
        request.headers.get("Space") if space else None,
        request.method,
        path_qs,
    )


def api_view(route_name: str, request_method: str, space: bool = True):
    """An API endpoint: authenticated first, answering Checkout's error body when refused."""

    def decorate(function):
        def view(request):
            try:
                account = _account(request, space)
            except Refused as refused:
                return error(refused.status, refused.code, refused.message)
            return function(request, account)

        view.__name__ = function.__name__
        view.__doc__ = function.__doc__
        # _depth: venusian attaches the view to the module applying the decorator, which scans it
        return view_config(
            route_name=route_name, request_method=request_method, require_csrf=False, _depth=1
        )(view)

    return decorate


def _transaction(request, account: Account):
    transaction = request.registry.checkout_sandbox_store.get(account.space_id, int(request.matchdict["id"]))
    if transaction is None:
        raise Refused(404, "NOT_FOUND", "no transaction with this id in this space")
    return transaction


def _amount(items: list) -> Decimal:
    total = Decimal(0)
    for item in items:
        if not isinstance(item, dict) or not item.get("uniqueId") or not item.get("name"):
            raise ValueError("each line item needs uniqueId and name")
        raw = item.get("amountIncludingTax")
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("amountIncludingTax must be a number")
        try:
            total += Decimal(str(raw)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ValueError("amountIncludingTax must be a number") from None
    if total <= 0:
        raise ValueError("the line items must add up to a positive amount")
    return total


@api_view("sandbox.checkout.create", "POST")
def create_transaction(request, account: Account):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return error(400, "BAD_REQUEST", "the body is not JSON")
    if not isinstance(body, dict):
        return error(400, "BAD_REQUEST", "the body must be a TransactionCreate object")
    items = body.get("lineItems")
    problems = {}
    try:
        amount = _amount(items) if isinstance(items, list) and items else None
    except ValueError as problem:
        problems["lineItems"], amount = str(problem), None
    if amount is None and "lineItems" not in problems:
        problems["lineItems"] = "at least one line item is required"
    currency = body.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        problems["currency"] = "a three-letter ISO 4217 code is required"
    reference = body.get("merchantReference") or ""
    if not isinstance(reference, str) or len(reference) > 100:
        problems["merchantReference"] = "at most 100 characters"
    for name in ("successUrl", "failedUrl"):
        value = body.get(name) or ""
        if not isinstance(value, str) or not re.match(r"https?://", value) or len(value) > 2000:
            problems[name] = "an http(s) URL is required"
    if problems:
        return error(422, "UNPROCESSABLE_ENTITY", "the transaction is not valid", problems)
    transaction = request.registry.checkout_sandbox_store.create(
        space_id=account.space_id,
        amount=amount,
        currency=currency,
        merchant_reference=reference,
        success_url=body["successUrl"],
        failed_url=body["failedUrl"],
        language=str(body.get("language") or "en-US"),
        line_items=items,
    )
    return _json(transaction.as_json(), 201)


@api_view("sandbox.checkout.read", "GET")
def read_transaction(request, account: Account):
    try:
        return _json(_transaction(request, account).as_json())
    except Refused as refused:
        return error(refused.status, refused.code, refused.message)


@api_view("sandbox.checkout.page_url", "GET")
def payment_page_url(request, account: Account):
    try:
        transaction = _transaction(request, account)
    except Refused as refused:
        return error(refused.status, refused.code, refused.message)
    if transaction.state not in WAITING:
        return error(
            422, "UNPROCESSABLE_ENTITY", f"the transaction is {transaction.state}, no longer payable"
        )
    return _json(
        request.registry.pb_settings.url(request.route_path("sandbox.checkout.pay", id=transaction.id))
    )


def _bounded(raw: str | None, default: int, largest: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) > largest:
        raise ValueError
    return int(raw)


@api_view("sandbox.checkout.search", "GET")
def search_transactions(request, account: Account):
    """By ``merchantReference:<value>`` (quoted or not), or every transaction; newest first."""
    query = (request.GET.get("query") or "").strip()
    reference = None
    if query:
        match = _REFERENCE_QUERY.fullmatch(query)
        if match is None:
            return error(400, "BAD_REQUEST", "unsupported query", {"query": "merchantReference:<value>"})
        reference = match.group(1).replace('\\"', '"') if match.group(1) is not None else match.group(2)
    try:
        limit = _bounded(request.GET.get("limit"), 10, MAX_LIMIT) or 10
        offset = _bounded(request.GET.get("offset"), 0, 10_000)
    except ValueError:
        return error(400, "BAD_REQUEST", "limit is 1 to 100 and offset 0 to 10000")
    found = request.registry.checkout_sandbox_store.search(account.space_id, reference)
    page = found[offset : offset + limit]
    return _json(
        {
            "data": [t.as_json() for t in page],
            "offset": offset,
            "limit": limit,
            "hasMore": offset + limit < len(found),
        }
    )


@api_view("sandbox.checkout.refund", "GET")
def read_refund(request, account: Account):
    found = request.registry.checkout_sandbox_store.find_refund(
        account.space_id, int(request.matchdict["id"])
    )
    if found is None:
        return error(404, "NOT_FOUND", "no refund with this id in this space")
    transaction, refund = found
    return _json(transaction.refund_json(refund))


@api_view("sandbox.checkout.export", "GET")
def export_transactions(request, account: Account):
    """The export as CSV, with the ``fields`` asked for (the API's names), newest first."""
    fields = request.GET.getall("fields") or None
    if fields and any(not re.fullmatch(r"[A-Za-z]{1,40}", name) for name in fields):
        return error(400, "BAD_REQUEST", "unknown field")
    try:
        limit = _bounded(request.GET.get("limit"), 2000, 10_000) or 2000
        offset = _bounded(request.GET.get("offset"), 0, 100_000)
    except ValueError:
        return error(400, "BAD_REQUEST", "limit is 1 to 10000 and offset 0 to 100000")
    found = request.registry.checkout_sandbox_store.search(account.space_id, None)[offset : offset + limit]
    return csv_response(export.write_export([t.as_json() for t in found], fields))


def csv_response(text: str) -> Response:
    return Response(
        text.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
    )


@api_view("sandbox.checkout.key", "GET", space=False)
def encryption_key(request, account: Account):
    signer = request.registry.checkout_sandbox_signer
    if request.matchdict["id"] != signer.key_id:
        return error(404, "NOT_FOUND", "no webhook encryption key with this id")
    return _json(signer.public_key)


@api_view("sandbox.checkout.space", "GET", space=False)
def read_space(request, account: Account):
    if int(request.matchdict["id"]) != account.space_id:
        return error(403, "FORBIDDEN", "the application user has no access to this space")
    return _json({"id": account.space_id, "name": "PolyBanking sandbox space", "state": "ACTIVE"})
