"""Prometheus metrics: request counters kept in the process, the gateway's state read at scrape time.

A public request only bumps two in-process counters (no query, no I/O). Payments by status, IPN
attempts by outcome, the IPN backlog and the queue depth are read from PostgreSQL and Redis when
``/metrics`` is scraped, so they are the same whichever process answers.

Several web processes: each keeps its own request counters, so Prometheus scrapes every process
directly (one target per process, never through the load balancer) and queries ``sum`` over
``instance`` for requests, ``max`` for the database-derived series (deploy/README.md, Monitoring).
"""

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from pyramid.tweens import INGRESS

from .ingress import parse_networks
from .models import database_outage
from .services.admin.monitoring import snapshot

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DEFAULT_MONITORING_FROM = "127.0.0.1 ::1"
#: Latency buckets (seconds) around the 100 ms p99 target of the start endpoint.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class StateCollector:
    """The database- and queue-derived series, computed on each scrape."""

    def __init__(self, engine, huey):
        self.engine = engine
        self.huey = huey

    def describe(self) -> list[Metric]:
        return []  # so registering it does not run the queries

    def collect(self) -> Iterator[Metric]:
        state = snapshot(self.engine, self.huey, detailed=True)
        yield GaugeMetricFamily(
            "polybanking_database_up", "1 if the database answered", state.database == "ok"
        )
        yield GaugeMetricFamily("polybanking_queue_up", "1 if the task queue answered", state.queue == "ok")
        if state.database == "ok":
            payments = GaugeMetricFamily(
                "polybanking_payments",
                "Transactions by PostFinance status (none = no report yet) and internal status",
                labels=["postfinance_status", "internal_status"],
            )
            for (status, internal), count in sorted(state.payments.items()):
                payments.add_metric([status, internal], count)
            yield payments
            attempts = CounterMetricFamily(
                "polybanking_ipn_attempts",
                "IPN deliveries attempted, by outcome (the outbox's attempt records)",
                labels=["outcome"],
            )
            for outcome, count in sorted(state.ipn_attempts.items()):
                attempts.add_metric([outcome], count)
            yield attempts
            yield GaugeMetricFamily(
                "polybanking_ipn_pending", "Transactions with an IPN due", state.ipn_pending
            )
            yield GaugeMetricFamily(
                "polybanking_ipn_failing",
                "Transactions with an IPN due whose last attempt for the current status failed",
                state.ipn_failing,
            )
            yield GaugeMetricFamily(
                "polybanking_ipn_given_up",
                "Transactions whose IPN the outbox stopped retrying (resend with `polybanking ipn resend`)",
                state.ipn_given_up,
            )
        if state.queue == "ok":
            depth = GaugeMetricFamily("polybanking_queue_depth", "Tasks in the queue", labels=["state"])
            depth.add_metric(["pending"], state.queue_pending)
            depth.add_metric(["scheduled"], state.queue_scheduled)
            yield depth


class OutageCollector:
    """This process's view of its dependencies: the queue breaker and the database outages."""

    def __init__(self, breaker, database):
        self.breaker = breaker
        self.database = database

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if self.breaker is not None:
            yield GaugeMetricFamily(
                "polybanking_queue_circuit_open",
                "1 while this process defers its enqueues to the outbox scan (the queue failed)",
                int(self.breaker.open),
            )
            yield CounterMetricFamily(
                "polybanking_queue_enqueues_deferred",
                "Tasks this process did not queue (queue failing or circuit open); the outbox scan has them",
                self.breaker.outage.deferred_total,
            )
            yield CounterMetricFamily(
                "polybanking_queue_enqueue_failures", "Enqueues that failed", self.breaker.failures_total
            )
        if self.database is not None:
            yield CounterMetricFamily(
                "polybanking_database_unavailable_answers",
                "Requests this process answered 503 because the database was unavailable",
                self.database.deferred_total,
            )


class Metrics:
    """One registry per app (tests build many apps in one process; the global one would clash)."""

    def __init__(
        self, engine, huey, allowed_from: str = DEFAULT_MONITORING_FROM, breaker=None, database=None
    ):
        self.allowed = parse_networks("polybanking.monitoring_from", allowed_from)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "polybanking_http_requests",
            "HTTP requests answered by this process",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "polybanking_http_request_duration_seconds",
            "Time to answer, by route, in this process",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self.registry.register(StateCollector(engine, huey))
        self.registry.register(OutageCollector(breaker, database))

    def observe(self, request, status: int, seconds: float) -> None:
        route = getattr(request, "matched_route", None)
        name = route.name if route is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        self.requests.labels(name, method, str(status)).inc()
        self.duration.labels(name).observe(seconds)


def metrics_tween_factory(handler, registry):
    metrics: Metrics = registry.pb_metrics

    def metrics_tween(request):
        started = time.perf_counter()
        status = 500
        try:
            response = handler(request)
            status = response.status_code
            return response
        finally:
            metrics.observe(request, status, time.perf_counter() - started)

    return metrics_tween


def includeme(config) -> None:
    """registry.pb_metrics and the counting tween (outermost, so refusals at the door count too)."""
    settings = config.get_settings()
    config.registry.pb_metrics = Metrics(
        config.registry["dbengine"],
        getattr(config.registry, "huey", None),
        settings.get("polybanking.monitoring_from") or DEFAULT_MONITORING_FROM,
        breaker=getattr(config.registry, "queue_breaker", None),
        database=database_outage(config.registry["dbengine"]),
    )
    config.add_tween("polybanking.monitoring.metrics_tween_factory", under=INGRESS)
