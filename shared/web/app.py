"""The parts of ``create_app`` every service shares: resources built once in
``lifespan`` and closed on shutdown (STYLE §4), middleware and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.auth.keys import load_secret_keys
from shared.config import SharedSettings
from shared.db import Database
from shared.logging import VERSION
from shared.storage import open_storage
from shared.web.errors import PlainTextPredicate, install_error_handlers
from shared.web.middleware import RejectNulMiddleware, RequestContextMiddleware


@asynccontextmanager
async def core_resources(app: FastAPI, settings: SharedSettings, *, service_name: str) -> AsyncIterator[None]:
    """Database engines and blob storage on ``app.state``, closed on shutdown."""
    app.state.settings = settings
    app.state.secret_keys = load_secret_keys(settings)
    app.state.db = Database.from_settings(settings, service_name=service_name)
    app.state.storage = await open_storage(settings.storage_url, **settings.s3_options())
    try:
        yield
    finally:
        await app.state.storage.aclose()
        await app.state.db.aclose()


def new_app(*, title: str, lifespan, plain_text: PlainTextPredicate = lambda _r: False) -> FastAPI:  # noqa: ANN001
    app = FastAPI(title=title, version=VERSION, lifespan=lifespan, redoc_url=None)
    install_error_handlers(app, plain_text=plain_text)
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(RequestContextMiddleware)  # outermost: every answer gets a request id and a log line

    @app.get("/livez", include_in_schema=False)
    async def livez() -> dict[str, str]:
        """Liveness: the event loop answers; no dependency is checked (STYLE §9)."""
        return {"status": "ok"}

    return app
