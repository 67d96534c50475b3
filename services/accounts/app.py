"""The accounts service: users, sessions, two-factor, API tokens, roles, trusted publishing, audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.accounts.mail import open_email_sender
from services.accounts.oidc import InvalidIdTokenError, JwksCache
from services.accounts.routes import router
from services.accounts.service.context import AccountsContext, Notifier
from shared.config import AccountsSettings
from shared.logging import VERSION
from shared.ratelimit import open_rate_limiter
from shared.web.app import core_resources, new_app
from shared.web.cache import NO_STORE

SERVICE_NAME = "accounts"
PATH_PREFIXES = ("/api/account", "/_/oidc")


def create_app(settings: AccountsSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, service_name=SERVICE_NAME):
            notifier = Notifier(open_email_sender(settings))
            app.state.accounts = AccountsContext(settings=settings, keys=app.state.secret_keys, notifier=notifier)
            app.state.rate_limiter = open_rate_limiter(settings, db=app.state.db)
            timeout = httpx.Timeout(10.0, connect=5.0)
            async with httpx.AsyncClient(timeout=timeout, headers={"User-Agent": f"wheelhouse/{VERSION}"}) as http:
                app.state.jwks = JwksCache(http, ttl=timedelta(seconds=settings.oidc_jwks_ttl))
                try:
                    yield
                finally:
                    await notifier.drain()
                    await app.state.rate_limiter.aclose()

    app = new_app(title="Wheelhouse accounts", service=SERVICE_NAME, lifespan=lifespan)
    app.include_router(router)
    app.add_exception_handler(InvalidIdTokenError, _refused_id_token)
    return app


async def _refused_id_token(request: Request, exc: Exception) -> Response:
    """The token exchange answers in the public index's shape (``message`` and ``errors``), which
    CI publishing actions print, and carries the suite's usual ``error`` object as well."""
    assert isinstance(exc, InvalidIdTokenError)
    errors = [problem.as_dict() for problem in exc.errors]
    body = {"message": "Token request failed", "errors": errors,
            "error": {"code": exc.code, "message": exc.message, "details": {"errors": errors}}}
    return JSONResponse(body, status_code=exc.status_code, headers=dict(NO_STORE))
