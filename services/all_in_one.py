"""The embedded default: the four services in one process, routed by path prefix.

Each service declares the prefixes it answers (``PATH_PREFIXES``), the same
table the edge routes by, so one process behaves like the scaled deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from services.accounts.app import PATH_PREFIXES as ACCOUNTS_PREFIXES
from services.accounts.app import create_app as create_accounts
from services.search.app import PATH_PREFIXES as SEARCH_PREFIXES
from services.search.app import create_app as create_search
from services.search.worker import search_indexer
from services.simple.app import PATH_PREFIXES as SIMPLE_PREFIXES
from services.simple.app import create_app as create_simple
from services.upload.app import PATH_PREFIXES as UPLOAD_PREFIXES
from services.upload.app import create_app as create_upload
from shared.config import ServeSettings
from shared.errors import NotFoundError
from shared.edge.purger import edges_configured, purger
from shared.events import ConsumerRunner
from shared.web.app import new_app
from shared.web.health import Readiness


def _matches(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class AllInOne:
    """An ASGI app that runs every service's lifespan and dispatches by path prefix."""

    def __init__(self, routes: list[tuple[tuple[str, ...], FastAPI]], *, fallback: FastAPI,
                 workers: Sequence[WorkerFactory] = ()) -> None:
        self.routes = routes
        self.fallback = fallback
        self.workers = list(workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            for prefixes, app in self.routes:
                if any(_matches(scope["path"], p) for p in prefixes):
                    await app(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for _prefixes, app in [*self.routes, ((), self.fallback)]:
                await stack.enter_async_context(app.router.lifespan_context(app))
            # /readyz (answered by the fallback) checks what every service checks.
            readiness = Readiness("all-in-one", timeout=self.routes[0][1].state.readiness.timeout)
            for _prefixes, app in self.routes:
                for name, check in app.state.readiness.checks.items():
                    readiness.add(f"{app.state.readiness.service}.{name}", check)
            self.fallback.state.readiness = readiness
            for factory in self.workers:
                await stack.enter_async_context(_running(factory))
            yield

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        started = False
        try:
            async with self.lifespan():
                started = True
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        except BaseException as exc:
            kind = "shutdown" if started else "startup"
            await send({"type": f"lifespan.{kind}.failed", "message": repr(exc)})
            raise
        await send({"type": "lifespan.shutdown.complete"})


WorkerFactory = Callable[[], AbstractAsyncContextManager[ConsumerRunner]]


@asynccontextmanager
async def _running(factory: WorkerFactory) -> AsyncIterator[None]:
    """A consumer of the journal, run in-process (the embedded default) until shutdown."""
    stop = asyncio.Event()
    async with factory() as runner:
        task = asyncio.create_task(runner.run_supervised(stop), name=runner.consumer.name)
        try:
            yield
        finally:
            stop.set()
            await task


def _fallback_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield

    app = new_app(title="Wheelhouse", service="all-in-one", lifespan=lifespan)

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        return {"name": "Wheelhouse", "simple": "/simple/", "upload": "/legacy/"}

    @app.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"], include_in_schema=False)
    async def not_found(rest: str) -> None:
        raise NotFoundError(f"No such page: /{rest}")

    return app


def create_app(settings: ServeSettings, *, workers: bool = False) -> AllInOne:
    """Every service in one ASGI app; with ``workers``, the consumers of the journal run in it too
    (``wheelhouse serve``; tests start the ones they need themselves)."""
    consumers: list[WorkerFactory] = [lambda: search_indexer(settings)]
    if edges_configured(settings):
        consumers.append(lambda: purger(settings))
    if settings.bus == "nats":
        from shared.events.relay import relay  # only deployments on NATS load its client

        consumers.insert(0, lambda: relay(settings))
    routes = [
        (UPLOAD_PREFIXES, create_upload(settings)),
        (SIMPLE_PREFIXES, create_simple(settings)),
        (SEARCH_PREFIXES, create_search(settings)),
        (ACCOUNTS_PREFIXES, create_accounts(settings)),
    ]
    return AllInOne(routes, fallback=_fallback_app(), workers=consumers if workers else [])
