"""The search service: ``/api/search`` and ``/search``, answered from the search index that the
``search-indexer`` consumer keeps in step with the journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.search.routes import router
from services.search.service import SearchService
from shared.config import SharedSettings
from shared.ratelimit import open_rate_limiter
from shared.search import open_search_index
from shared.web.app import core_resources, new_app
from shared.web.health import search_check

SERVICE_NAME = "search"
PATH_PREFIXES = ("/api/search", "/search")


def create_app(settings: SharedSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, service_name=SERVICE_NAME):
            index = open_search_index(settings, db=app.state.db)
            app.state.search_service = SearchService(index)
            app.state.readiness.add("search", search_check(index))
            app.state.rate_limiter = open_rate_limiter(settings, db=app.state.db)
            try:
                yield
            finally:
                await app.state.rate_limiter.aclose()
                await index.aclose()

    app = new_app(title="Wheelhouse search", service=SERVICE_NAME, lifespan=lifespan)
    app.include_router(router)
    return app
