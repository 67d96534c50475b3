"""Counters in Redis, for deployments that run one: ``SET NX EX`` then ``INCR``
in one MULTI/EXEC transaction, one key per rate-limit key and window.

``redis`` is an optional dependency (``pip install wheelhouse[redis]``); it is
imported when a :class:`RedisRateLimiter` is built, so importing this module
never needs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.ratelimit.base import RateLimit, RateLimitResult, rate_limit_key, resolve_now, window_of

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_PREFIX = "wheelhouse:ratelimit:"
EXPIRY_SLACK_SECONDS = 5  # a key outlives its window by this much, to absorb clock skew


class RedisRateLimiter:
    """Keys are ``{prefix}{policy}:{identifiers}:{window_start}``, expiring a few seconds after the window."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = _connect(url)
        self._prefix = prefix

    async def hit(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> RateLimitResult:
        window = window_of(policy, resolve_now(now))
        name = self._name(rate_limit_key(policy, identifiers), window.start)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, nx=True, ex=policy.window_seconds + EXPIRY_SLACK_SECONDS)
            pipe.incr(name)
            _, count = await pipe.execute()
        return window.result(policy, int(count))

    async def clear(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> None:
        """Delete the counters of the window holding ``now`` and the one before it
        (a caller whose clock runs behind may still be counting there)."""
        window = window_of(policy, resolve_now(now))
        key = rate_limit_key(policy, identifiers)
        previous = window.start - policy.window_seconds
        await self._client.delete(self._name(key, window.start), self._name(key, previous))

    async def aclose(self) -> None:
        await self._client.aclose()

    def _name(self, key: str, window_start: int) -> str:
        return f"{self._prefix}{key}:{window_start}"


def _connect(url: str) -> Redis:
    try:
        from redis.asyncio import from_url
    except ImportError as error:
        message = "a Redis URL is configured but redis is not installed: pip install 'wheelhouse[redis]'"
        raise RuntimeError(message) from error
    return from_url(url)
