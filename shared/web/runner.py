"""Running one ASGI app under uvicorn: one process, no workers (STYLE §14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from starlette.types import ASGIApp

from shared.config import SharedSettings
from shared.logging import configure_logging

S = TypeVar("S", bound=SharedSettings)


def run_app(app: ASGIApp, settings: SharedSettings, *, service: str) -> None:
    configure_logging(service=service, log_format=settings.log_format, level=settings.log_level)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # RequestContextMiddleware logs one line per request
        proxy_headers=True,
        timeout_graceful_shutdown=30,
    )


def run_service(create_app: Callable[[S], ASGIApp], settings: S, *, service: str) -> None:
    """What ``python -m services.<svc>`` does: settings from the environment, one app."""
    run_app(create_app(settings), settings, service=service)
