"""An app for a service whose API is not built yet: its mount points exist and
every path answers 501 Not Implemented with the usual error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared.config import SharedSettings
from shared.errors import AppError
from shared.web.app import new_app


class NotImplementedYetError(AppError):
    status_code = 501


def placeholder_app(settings: SharedSettings, *, service: str, title: str, prefixes: tuple[str, ...]) -> FastAPI:
    def not_implemented() -> None:
        raise NotImplementedYetError(f"The {service} service is not available yet on this index.")

    router = APIRouter()
    for prefix in prefixes:
        router.add_api_route(prefix, not_implemented, methods=["GET", "POST"], include_in_schema=False)
        router.add_api_route(prefix + "/{rest:path}", not_implemented, methods=["GET", "POST", "DELETE"],
                             include_in_schema=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        yield

    app = new_app(title=title, lifespan=lifespan)
    app.include_router(router)
    return app
