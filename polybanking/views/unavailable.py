"""The database is unavailable (down, restarting, connections killed, pool exhausted): 503, each
caller in its own language, with ``Retry-After``, never an HTML 500.

- a website starting a payment: PROTOCOL §2's JSON, ``{"status": "ERROR", "url": ""}``;
- PostFinance's post-sale feedback: 503, so that it sends the feedback again;
- the API: its JSON error;
- shoppers and admins: a plain "try again" page.

The first failure is logged once by the engine's outage tracker (``models.database_outage``);
here each answer is counted, so the "database back" line says how many requests were turned away.
"""

import logging

from pyramid.response import Response
from pyramid.view import exception_view_config
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..models import database_outage
from ..outages import describe

log = logging.getLogger(__name__)

#: Errors that mean "the database cannot answer now", not "this request is wrong".
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_SECONDS = "5"
API_ROUTES = ("api.transactions", "api.transaction", "api.transaction.logs")  # they have their own views
PAGE = "polybanking:templates/error.jinja2"


def _on_unavailable(**settings):
    """``exception_view_config`` for each of UNAVAILABLE (a view's context is one class)."""

    def decorate(view):
        for error in UNAVAILABLE:
            view = exception_view_config(error, _depth=1, **settings)(view)
        return view

    return decorate


def _answer(request, status: int = 503) -> None:
    request.response.status_int = status
    request.response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    request.response.headers["Cache-Control"] = "no-store"


def _count(exc, request) -> None:
    """Count the answer; a line per request only when no outage line covers it (a lock wait or
    the pool exhausted, not a lost server): at hundreds of requests a second, the count says it."""
    outage = database_outage(request.registry["dbengine"])
    outage.deferred()
    path = request.environ.get("PATH_INFO", "")[:200]
    level = logging.DEBUG if outage.down else logging.WARNING
    log.log(level, "503 for %s %r: database unavailable (%s)", request.method, path, describe(exc))


@_on_unavailable(route_name="payment.start", renderer="json")
def start_unavailable(exc, request):
    _count(exc, request)
    _answer(request)
    return {"status": "ERROR", "url": ""}


@_on_unavailable(route_name="payment.ipn")
def feedback_unavailable(exc, request):
    """PostFinance sends its post-sale request again after a non-2xx answer."""
    _count(exc, request)
    response = Response("database unavailable; try again", status=503, content_type="text/plain")
    response.headers.update({"Retry-After": RETRY_AFTER_SECONDS, "Cache-Control": "no-store"})
    return response


@_on_unavailable(route_name=API_ROUTES[0], renderer="json")
@_on_unavailable(route_name=API_ROUTES[1], renderer="json")
@_on_unavailable(route_name=API_ROUTES[2], renderer="json")
def api_unavailable(exc, request):
    _count(exc, request)
    _answer(request)
    return {"result": "error", "error": "the database is unavailable; try again in a moment"}


@_on_unavailable(renderer=PAGE)
def page_unavailable(exc, request):
    """Shoppers, admins, anything else: a page that needs no database to render."""
    _count(exc, request)
    _answer(request)
    return {"title": "Try again in a moment", "message": "PolyBanking cannot reach its database just now."}
