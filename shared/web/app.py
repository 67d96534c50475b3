"""The parts of ``create_app`` every service shares: resources built once in
``lifespan`` and closed on shutdown (STYLE §4), middleware, error handlers and health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.auth.keys import load_secret_keys
from shared.config import SharedSettings
from shared.db import Database
from shared.logging import VERSION
from shared.metrics import POOLS
from shared.storage import open_storage
from shared.web.cache import NO_STORE
from shared.web.errors import PlainTextPredicate, install_error_handlers
from shared.web.health import Readiness, database_check
from shared.web.middleware import RejectNulMiddleware, RequestContextMiddleware


@asynccontextmanager
async def core_resources(app: FastAPI, settings: SharedSettings, *, service_name: str) -> AsyncIterator[None]:
    """Database engines and blob storage on ``app.state``, closed on shutdown; the database is
    the first thing ``/readyz`` checks (services add their own critical dependency)."""
    app.state.settings = settings
    app.state.secret_keys = load_secret_keys(settings)
    app.state.db = Database.from_settings(settings, service_name=service_name)
    POOLS.track(app.state.db.write_engine, service=service_name, role="write")
    POOLS.track(app.state.db.read_engine, service=service_name, role="read")
    app.state.readiness = Readiness(service_name, timeout=settings.readiness_timeout)
    app.state.readiness.add("database", database_check(app.state.db))
    app.state.storage = await open_storage(settings.storage_url, **settings.s3_options())
    try:
        yield
    finally:
        await app.state.storage.aclose()
        await app.state.db.aclose()


def new_app(*, title: str, service: str, lifespan, plain_text: PlainTextPredicate = lambda _r: False) -> FastAPI:  # noqa: ANN001
    app = FastAPI(title=title, version=VERSION, lifespan=lifespan, redoc_url=None)
    install_error_handlers(app, plain_text=plain_text)
    app.add_middleware(RejectNulMiddleware)
    # Outermost: every answer gets a request id, a log line and its metrics.
    app.add_middleware(RequestContextMiddleware, service=service)

    @app.get("/livez", include_in_schema=False)
    async def livez() -> dict[str, str]:
        """Liveness: the event loop answers; no dependency is checked (STYLE §9)."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the service's critical dependencies answer and the process is not shutting down."""
        readiness: Readiness | None = getattr(request.app.state, "readiness", None)
        if readiness is None:  # an app without dependencies (the all-in-one fallback)
            readiness = Readiness(service)
        ready, checks = await readiness.evaluate()
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503, headers=dict(NO_STORE))

    return app
