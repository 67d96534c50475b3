"""Prometheus metrics, served on a port of their own (``WHEELHOUSE_METRICS_PORT``), so that a
scrape never competes with API traffic and the API's port never exposes internals."""

from __future__ import annotations

import structlog
from prometheus_client import start_http_server

from shared.config import SharedSettings

log = structlog.get_logger()


def serve_metrics(settings: SharedSettings) -> int | None:
    """Start the exposition server in a thread when a port is configured; return the port it listens on."""
    if settings.metrics_port is None:
        return None
    server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    port = server.server_address[1]
    log.info("metrics_serving", host=settings.metrics_host, port=port)
    return port
