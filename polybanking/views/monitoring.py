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
    """200 ``ok``; 200 ``degraded`` when only the queue is away (payments go on, IPNs wait for the
    outbox scan); 503 ``error`` when the database is; with the IPN backlog either way.

    The web process's queue client gives up after ``huey.enqueue_timeout_ms``, so a hanging Redis
    costs this answer a fraction of a second, not a socket timeout.
    """
    _allowed(request)
    registry = request.registry
    state = snapshot(registry["dbengine"], registry.huey)
    breaker = getattr(registry, "queue_breaker", None)
    breaker_open = breaker is not None and breaker.open
    degraded = [
        part for part, down in (("database", state.database != "ok"), ("queue", state.queue != "ok")) if down
    ]
    if breaker_open and "queue" not in degraded:
        degraded.append("queue")  # it answers again, but this process has not queued since
    database_ok = state.database == "ok"
    request.response.status_int = 200 if database_ok else 503
    request.response.headers["Cache-Control"] = "no-store"
    return {
        "status": "error" if not database_ok else "degraded" if degraded else "ok",
        "degraded": degraded,
        "database": state.database,
        "queue": state.queue,
        "queue_breaker": "open" if breaker_open else "closed",
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
