"""The simple-index service: every read of package data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.simple.changelog import ChangelogService
from services.simple.routes import router
from services.simple.service import SimpleService
from shared.config import SimpleSettings
from shared.web.app import core_resources, new_app
from shared.web.health import storage_check

SERVICE_NAME = "simple"
PATH_PREFIXES = ("/simple", "/pypi", "/packages", "/api/changelog")


def create_app(settings: SimpleSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, service_name=SERVICE_NAME):
            app.state.simple_service = SimpleService()
            app.state.changelog_service = ChangelogService(app.state.db)
            app.state.readiness.add("storage", storage_check(app.state.storage))  # /packages/ streams from it
            yield

    app = new_app(title="Wheelhouse simple index", service=SERVICE_NAME, lifespan=lifespan)
    app.include_router(router)
    return app
