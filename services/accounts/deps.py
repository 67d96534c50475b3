"""``Annotated`` dependencies of the account API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from services.accounts.service.context import AccountsContext, Notifier, Postbox
from services.accounts.service.sessions import Account, authenticate_session
from shared.config import AccountsSettings
from shared.ratelimit import RateLimiter
from shared.web.deps import ReadDb, Storage, WriteDb

__all__ = ["ClientIp", "Ctx", "CurrentAccount", "Limiter", "ReadDb", "RowId", "Settings", "Storage", "WriteDb"]


async def _settings(request: Request) -> AccountsSettings:
    return request.app.state.settings


async def request_context(request: Request) -> AsyncIterator[AccountsContext]:
    """The use cases' context, with email held back until the request has committed."""
    process: AccountsContext = request.app.state.accounts
    postbox = Postbox()
    yield replace(process, notifier=postbox)
    if getattr(request.state, "committed", False):
        assert isinstance(process.notifier, Notifier)
        postbox.forward(process.notifier)


async def _limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


async def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


_session_scheme = HTTPBearer(
    auto_error=False, scheme_name="session",
    description="A session token from POST /api/account/login (API tokens cannot manage the account).",
)


async def _current_account(
    read: ReadDb, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_session_scheme)]
) -> Account:
    """The session behind ``Authorization: Bearer whs-…``, read outside the request's write transaction
    (so that rate-limit counters, written in their own transaction, can come next)."""
    account = await authenticate_session(read, credentials.credentials if credentials else "")
    await read.rollback()
    return account


# A row id in a path: out of the database's 64-bit range is a malformed request (422), not a crash.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Settings = Annotated[AccountsSettings, Depends(_settings)]
Ctx = Annotated[AccountsContext, Depends(request_context)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
ClientIp = Annotated[str, Depends(_client_ip)]
CurrentAccount = Annotated[Account, Depends(_current_account)]
