"""``Annotated`` dependencies of the account API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from services.accounts.service.context import AccountsContext
from services.accounts.service.sessions import Account, authenticate_session
from shared.config import AccountsSettings
from shared.ratelimit import RateLimiter
from shared.web.deps import ReadDb, Storage, WriteDb

__all__ = ["Ctx", "CurrentAccount", "ClientIp", "Limiter", "ReadDb", "Settings", "Storage", "WriteDb"]


async def _settings(request: Request) -> AccountsSettings:
    return request.app.state.settings


async def _ctx(request: Request) -> AccountsContext:
    return request.app.state.accounts


async def _limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


async def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def _current_account(request: Request, read: ReadDb) -> Account:
    """The session behind ``Authorization: Bearer whs-…``, read outside the request's write transaction
    (so that rate-limit counters, written in their own transaction, can come next)."""
    account = await authenticate_session(read, _bearer(request))
    await read.rollback()
    return account


Settings = Annotated[AccountsSettings, Depends(_settings)]
Ctx = Annotated[AccountsContext, Depends(_ctx)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
ClientIp = Annotated[str, Depends(_client_ip)]
CurrentAccount = Annotated[Account, Depends(_current_account)]
