"""Running one ASGI app under uvicorn: one process, no workers (STYLE §14), with the shutdown
Kubernetes expects.

On SIGTERM (or Ctrl-C) ``/readyz`` fails at once. After ``shutdown_drain`` seconds the listener
closes, so no new request is taken; requests in flight, an upload included, get
``shutdown_timeout`` seconds to finish before they are cancelled. A second Ctrl-C forces the exit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

import uvicorn
from starlette.types import ASGIApp

from shared.config import SharedSettings
from shared.logging import configure_logging
from shared.metrics import serve_metrics
from shared.sentry import init_sentry
from shared.web.health import DRAINING

S = TypeVar("S", bound=SharedSettings)


class DrainingServer(uvicorn.Server):
    """uvicorn, with readiness failing before the listener closes."""

    def __init__(self, config: uvicorn.Config, *, drain: float) -> None:
        super().__init__(config)
        self.drain = drain
        self._drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_until is not None:  # a second signal: shut down now (twice Ctrl-C: force)
            super().handle_exit(sig, frame)
            return
        DRAINING.begin()
        self._drain_until = time.monotonic() + self.drain
        if self.drain <= 0:
            super().handle_exit(sig, frame)
        else:
            self._captured_signals.append(sig)  # re-raised after shutdown, as uvicorn does

    async def on_tick(self, counter: int) -> bool:
        if self._drain_until is not None and time.monotonic() >= self._drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


def run_app(app: ASGIApp, settings: SharedSettings, *, service: str) -> None:
    configure_logging(service=service, log_format=settings.log_format, level=settings.log_level)
    init_sentry(settings, service=service)
    serve_metrics(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # RequestContextMiddleware logs one line per request
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.shutdown_timeout,  # type: ignore[arg-type]  # a float works
        # Longer than the edge's idle backend connections, so that Varnish never reuses one that
        # uvicorn is closing.
        timeout_keep_alive=75,
    )
    DrainingServer(config, drain=settings.shutdown_drain).run()


def run_service(create_app: Callable[[S], ASGIApp], settings: S, *, service: str) -> None:
    """What ``python -m services.<svc>`` does: settings from the environment, one app."""
    run_app(create_app(settings), settings, service=service)

