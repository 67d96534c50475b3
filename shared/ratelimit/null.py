"""The limiter used when ``rate_limits_enabled`` is false: every hit is allowed."""

from __future__ import annotations

from datetime import datetime

from shared.ratelimit.base import RateLimit, RateLimitResult


class NullRateLimiter:
    """Counts nothing; ``remaining`` is always the full limit and ``retry_after`` 0."""

    async def hit(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> RateLimitResult:
        return RateLimitResult(allowed=True, remaining=policy.limit, retry_after=0)

    async def clear(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> None:
        return None

    async def aclose(self) -> None:
        return None
