"""The search service.  Its mount points exist; the API itself is not built yet,
so every path answers 501 Not Implemented with the usual error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared.config import SharedSettings
from shared.errors import AppError
from shared.web.app import new_app

SERVICE_NAME = "search"
PATH_PREFIXES = ("/api/search", "/search")

router = APIRouter()


class NotImplementedYetError(AppError):
    status_code = 501


def _not_implemented() -> None:
    raise NotImplementedYetError("The search service is not available yet on this index.")


for _prefix in PATH_PREFIXES:
    router.add_api_route(_prefix, _not_implemented, methods=["GET", "POST"], include_in_schema=False)
    router.add_api_route(_prefix + "/{rest:path}", _not_implemented, methods=["GET", "POST", "DELETE"],
                         include_in_schema=False)


def create_app(settings: SharedSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        yield

    app = new_app(title="Wheelhouse search", lifespan=lifespan)
    app.include_router(router)
    return app
