from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from services.search.service import SearchService
from shared.ratelimit import RateLimiter

__all__ = ["ClientIp", "Limiter", "Searches"]


async def _searches(request: Request) -> SearchService:
    return request.app.state.search_service


async def _limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


async def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


Searches = Annotated[SearchService, Depends(_searches)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
ClientIp = Annotated[str, Depends(_client_ip)]
