"""/healthz and /metrics for operators' probes and Prometheus; from allowed addresses only.

They run nothing on the payment routes' path: each answer is computed when asked, on a database
connection of its own. ``polybanking.monitoring_from`` lists who may ask (loopback by default):
the figures tell how much money moves, so the internet is not told.
"""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pyramid.httpexceptions import HTTPForbidden
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..ingress import in_networks, parse_address
from ..services.admin.monitoring import snapshot


def _allowed(request) -> None:
    metrics = request.registry.pb_metrics
    if not in_networks(parse_address(request.client_addr or ""), metrics.allowed):
        raise HTTPForbidden("monitoring is not served to this address")


@view_config(
    route_name="monitoring.health",
    request_method=("GET", "HEAD"),
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
)
def health(request):
    """200 when the database and the queue answer, else 503; with the IPN backlog either way."""
    _allowed(request)
    state = snapshot(request.registry["dbengine"], request.registry.huey)
    request.response.status_int = 200 if state.healthy else 503
    request.response.headers["Cache-Control"] = "no-store"
    return {
        "status": "ok" if state.healthy else "error",
        "database": state.database,
        "queue": state.queue,
        "ipn": {"pending": state.ipn_pending, "failing": state.ipn_failing, "given_up": state.ipn_given_up},
        "queue_depth": {"pending": state.queue_pending, "scheduled": state.queue_scheduled},
    }


@view_config(
    route_name="monitoring.metrics", request_method=("GET", "HEAD"), permission=NO_PERMISSION_REQUIRED
)
def metrics(request):
    _allowed(request)
    response = Response(body=generate_latest(request.registry.pb_metrics.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response
