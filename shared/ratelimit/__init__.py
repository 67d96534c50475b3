"""Rate limiting: fixed-window counters behind one Protocol.

``open_rate_limiter(settings, db=db)`` returns a :class:`RateLimiter`:

* :class:`NullRateLimiter` when ``rate_limits_enabled`` is false;
* :class:`RedisRateLimiter` when ``redis_url`` is set;
* :class:`DatabaseRateLimiter` on the shared database otherwise.

A policy is a :class:`RateLimit` (``RateLimit("login", 10, timedelta(minutes=5))``);
``await enforce(limiter, policy, username, message="Too many login attempts.")``
counts a hit and raises :class:`~shared.errors.TooManyRequestsError` (429 with
``Retry-After``) once the window's count passes the limit.  Close the limiter
with ``aclose()``.
"""

from __future__ import annotations

import structlog

from shared.config import SharedSettings
from shared.db import Database
from shared.errors import TooManyRequestsError
from shared.ratelimit.base import RateLimit, RateLimiter, RateLimitResult, rate_limit_key
from shared.ratelimit.database import DatabaseRateLimiter
from shared.ratelimit.null import NullRateLimiter
from shared.ratelimit.redis import RedisRateLimiter

__all__ = [
    "DatabaseRateLimiter",
    "NullRateLimiter",
    "RateLimit",
    "RateLimitResult",
    "RateLimiter",
    "RedisRateLimiter",
    "enforce",
    "open_rate_limiter",
    "rate_limit_key",
]

log = structlog.get_logger()


def open_rate_limiter(settings: SharedSettings, *, db: Database) -> RateLimiter:
    """The limiter the settings ask for (see the module docstring)."""
    if not settings.rate_limits_enabled:
        return NullRateLimiter()
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url)
    return DatabaseRateLimiter(db)


async def enforce(limiter: RateLimiter, policy: RateLimit, *identifiers: str, message: str) -> None:
    """Count one hit; raise :class:`TooManyRequestsError` if it is refused."""
    result = await limiter.hit(policy, *identifiers)
    if result.allowed:
        return
    seconds = result.retry_after
    log.info("rate_limit_exceeded", policy=policy.name, retry_after=seconds)
    raise TooManyRequestsError(message + f" Try again in {seconds} seconds.", retry_after=seconds)
