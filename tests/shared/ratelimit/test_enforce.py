"""enforce: a refused hit becomes a 429 with Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from shared.errors import TooManyRequestsError
from shared.ratelimit import NullRateLimiter, RateLimit, RateLimitResult, enforce
from shared.web.errors import install_error_handlers

POLICY = RateLimit("login", 10, timedelta(minutes=5))
MESSAGE = "Too many login attempts."


class FixedRateLimiter:
    """Answers every hit with one result and records what it was asked."""

    def __init__(self, result: RateLimitResult) -> None:
        self.result = result
        self.hits: list[tuple[RateLimit, tuple[str, ...]]] = []

    async def hit(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> RateLimitResult:
        self.hits.append((policy, identifiers))
        return self.result

    async def clear(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


REFUSED = FixedRateLimiter(RateLimitResult(allowed=False, remaining=0, retry_after=42))


class TestEnforce:
    async def test_allowed_passes(self) -> None:
        limiter = FixedRateLimiter(RateLimitResult(allowed=True, remaining=3, retry_after=100))

        await enforce(limiter, POLICY, "alice", "10.0.0.1", message=MESSAGE)

        assert limiter.hits == [(POLICY, ("alice", "10.0.0.1"))]

    async def test_null_limiter_never_refuses(self) -> None:
        for _ in range(POLICY.limit + 1):
            await enforce(NullRateLimiter(), POLICY, "alice", message=MESSAGE)

    async def test_refused_raises(self) -> None:
        with pytest.raises(TooManyRequestsError) as caught:
            await enforce(REFUSED, POLICY, "alice", message=MESSAGE)

        assert caught.value.message == "Too many login attempts. Try again in 42 seconds."
        assert caught.value.retry_after == 42
        assert caught.value.status_code == 429
        assert caught.value.headers == {"Retry-After": "42"}

    async def test_refused_renders_429_with_retry_after(self) -> None:
        app = FastAPI()
        install_error_handlers(app)

        @app.post("/login")
        async def login() -> dict[str, str]:
            await enforce(REFUSED, POLICY, "alice", message=MESSAGE)
            return {}

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.post("/login")

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "42"
        assert response.json()["error"]["message"] == "Too many login attempts. Try again in 42 seconds."
