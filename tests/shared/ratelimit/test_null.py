"""NullRateLimiter: what runs when rate limits are disabled."""

from __future__ import annotations

from datetime import timedelta

from shared.ratelimit import NullRateLimiter, RateLimit, RateLimiter, RateLimitResult

POLICY = RateLimit("login", 2, timedelta(minutes=5))


class TestNullRateLimiter:
    async def test_implements_protocol(self) -> None:
        assert isinstance(NullRateLimiter(), RateLimiter)

    async def test_always_allows(self) -> None:
        limiter = NullRateLimiter()

        results = {await limiter.hit(POLICY, "alice") for _ in range(10)}

        assert results == {RateLimitResult(allowed=True, remaining=2, retry_after=0)}

    async def test_clear_and_aclose_do_nothing(self) -> None:
        limiter = NullRateLimiter()

        await limiter.clear(POLICY, "alice")
        await limiter.aclose()

        assert (await limiter.hit(POLICY, "alice")).allowed
