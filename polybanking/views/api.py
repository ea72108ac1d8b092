"""The websites' API (PROTOCOL §7): JSON answers, also when something goes wrong.

Authentication happens before these views, in the routes' factories (``routes.py``); a refusal
there is an ApiRefused, answered here. CSRF does not apply: websites post from their servers,
authenticated by their API secret, never with a browser's cookies.
"""

import logging
from importlib.resources import files

from pyramid.exceptions import URLDecodeError
from pyramid.response import Response
from pyramid.view import exception_view_config, notfound_view_config, view_config, view_defaults

from ..models.operation import REFUND
from ..services.operations.errors import OperationRefused
from ..services.operations.request import operation_json, parse_amount, request_operation
from ..services.payments.api import (
    ApiRefused,
    list_references,
    parse_max_transaction,
    transaction_detail,
    transaction_logs,
)
from ..tasks.queue import enqueue_after_commit

log = logging.getLogger(__name__)

OPENAPI_DOCUMENT = files("polybanking").joinpath("openapi.yaml").read_bytes()


def _no_store(request) -> None:
    """Answers hold payment data: no cache keeps them."""
    request.response.headers["Cache-Control"] = "no-store"


def _error(request, status: int, message: str) -> dict:
    request.response.status_int = status
    _no_store(request)
    return {"result": "error", "error": message}


@view_defaults(renderer="json", request_method="POST", require_csrf=False)
class TransactionsApi:
    def __init__(self, context, request):
        self.context = context
        self.request = request
        _no_store(request)

    @view_config(route_name="api.transactions")
    def list(self):
        limit = parse_max_transaction(self.context.form.get("max_transaction"))
        return {"result": "ok", "data": list_references(self.request.dbsession, self.context.config, limit)}

    @view_config(route_name="api.transaction")
    def detail(self):
        return {"result": "ok", "data": transaction_detail(self.context.transaction)}

    @view_config(route_name="api.transaction.logs")
    def logs(self):
        return {"result": "ok", "data": transaction_logs(self.request.dbsession, self.context.transaction)}

    @view_config(route_name="api.transaction.refunds")
    def refund(self):
        """PROTOCOL §10: 201 for a new refund, 200 for the same key again; the platform is asked
        by a task once this request has committed."""
        form = self.context.form
        try:
            requested = request_operation(
                self.request.dbsession,
                self.context.transaction,
                REFUND,
                parse_amount(form.get("amount")),
                idempotency_key=form.get("idempotency_key", ""),
                requested_by="api",
                reason=form.get("reason", ""),
            )
        except OperationRefused as refused:
            return _error(self.request, refused.http_status, refused.message)
        if requested.created:
            self.request.response.status_int = 201
            tasks = self.request.registry.tasks
            enqueue_after_commit(
                self.request.tm,
                tasks.run_operation,
                requested.operation.id,
                breaker=self.request.registry.queue_breaker,
                subject=f"operation {requested.operation.id}",
            )
        return {"result": "ok", "data": operation_json(requested.operation)}


@view_config(route_name="api.openapi", request_method="GET")
def openapi_document(request):
    """The OpenAPI 3 description of the start endpoint and the API, for website developers' tools."""
    return Response(OPENAPI_DOCUMENT, content_type="application/yaml", charset="utf-8")


# Per route, like ``unexpected`` below: Pyramid prefers a route's own exception views to global ones.
@exception_view_config(ApiRefused, route_name="api.transactions", renderer="json")
@exception_view_config(ApiRefused, route_name="api.transaction", renderer="json")
@exception_view_config(ApiRefused, route_name="api.transaction.logs", renderer="json")
@exception_view_config(ApiRefused, route_name="api.transaction.refunds", renderer="json")
def refused(exc: ApiRefused, request):
    if exc.http_status == 405:
        request.response.headers["Allow"] = "POST"
    elif exc.http_status == 403:
        config_id = str(request.POST.get("config_id", ""))[:20]  # never the secret
        log.info("API refused for config %r: %s", config_id, exc.message)
    return _error(request, exc.http_status, exc.message)


@notfound_view_config(api_path=True, renderer="json")
def api_not_found(request):
    return _error(request, 404, "no such API endpoint")


@exception_view_config(URLDecodeError, api_path=True, renderer="json")
def api_bad_url(exc, request):
    return _error(request, 400, "the URL is not UTF-8 once percent-decoded")


@exception_view_config(Exception, route_name="api.transactions", renderer="json")
@exception_view_config(Exception, route_name="api.transaction", renderer="json")
@exception_view_config(Exception, route_name="api.transaction.logs", renderer="json")
@exception_view_config(Exception, route_name="api.transaction.refunds", renderer="json")
def unexpected(exc, request):
    """A bug must not turn a website's JSON call into an HTML page either."""
    log.exception("unexpected error on API %r", request.environ.get("PATH_INFO", "")[:200])
    return _error(request, 500, "internal error; it has been logged")
