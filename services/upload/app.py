"""The upload service: every write to package data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request

from services.upload.routes import router
from services.upload.service import ManageService, UploadService
from shared.config import UploadSettings
from shared.ratelimit import open_rate_limiter
from shared.web.app import core_resources, new_app
from shared.web.health import storage_check

SERVICE_NAME = "upload"
# Path prefixes this service answers; the all-in-one process and the edge route by them.
PATH_PREFIXES = ("/legacy", "/api/projects")


def _is_legacy(request: Request) -> bool:
    return request.url.path.startswith("/legacy")  # twine prints a text/plain body


def create_app(settings: UploadSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, service_name=SERVICE_NAME):
            app.state.rate_limiter = open_rate_limiter(settings, db=app.state.db)
            app.state.upload_service = UploadService(storage=app.state.storage, settings=settings,
                                                     limiter=app.state.rate_limiter)
            app.state.manage_service = ManageService()
            app.state.readiness.add("storage", storage_check(app.state.storage))
            try:
                yield
            finally:
                await app.state.rate_limiter.aclose()

    app = new_app(title="Wheelhouse upload", service=SERVICE_NAME, lifespan=lifespan, plain_text=_is_legacy)
    app.include_router(router)
    return app
