"""Prometheus metrics, served on a port of their own (``WHEELHOUSE_METRICS_PORT``), so that a
scrape never competes with API traffic and the API's port never exposes internals.

Labels are bounded: a route is its template (``/simple/{project}/``), never the raw path or a
project name (STYLE §9)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import structlog
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import SharedSettings

log = structlog.get_logger()

# Uploads may take minutes: the buckets reach 10 min, past the upload service's timeouts.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"})
UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter("wheelhouse_http_requests", "HTTP requests answered, by route template and status",
                        ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("wheelhouse_http_request_duration_seconds",
                         "Time from a request's arrival to the end of its response, by route template",
                         ["service", "method", "route"], buckets=LATENCY_BUCKETS)
HTTP_IN_PROGRESS = Gauge("wheelhouse_http_requests_in_progress", "Requests being answered now", ["service"])


def observe_request(*, service: str, method: str, route: str | None, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"
    route = route or UNMATCHED_ROUTE
    HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
    HTTP_LATENCY.labels(service, method, route).observe(seconds)


class PoolCollector(Collector):
    """The connection pools of the processes' database engines, read at each scrape."""

    def __init__(self) -> None:
        self._engines: weakref.WeakKeyDictionary[AsyncEngine, tuple[str, str]] = weakref.WeakKeyDictionary()

    def track(self, engine: AsyncEngine, *, service: str, role: str) -> None:
        self._engines[engine] = (service, role)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["service", "role"]
        size = GaugeMetricFamily("wheelhouse_db_pool_size", "Connections the pool keeps", labels=labels)
        out = GaugeMetricFamily("wheelhouse_db_pool_checked_out", "Connections in use now", labels=labels)
        overflow = GaugeMetricFamily("wheelhouse_db_pool_overflow",
                                     "Connections open beyond the pool's size (negative: not yet opened)",
                                     labels=labels)
        for engine, (service, role) in list(self._engines.items()):
            pool = engine.sync_engine.pool
            for family, reading in ((size, "size"), (out, "checkedout"), (overflow, "overflow")):
                read = getattr(pool, reading, None)
                if callable(read):
                    family.add_metric([service, role], float(read()))
        yield from (size, out, overflow)


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def serve_metrics(settings: SharedSettings) -> int | None:
    """Start the exposition server in a thread when a port is configured; return the port it listens on."""
    if settings.metrics_port is None:
        return None
    server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    port = server.server_address[1]
    log.info("metrics_serving", host=settings.metrics_host, port=port)
    return port
