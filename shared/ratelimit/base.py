"""The rate-limit contract: policies, results, the :class:`RateLimiter` Protocol,
and the key and fixed-window arithmetic every implementation shares."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

MAX_KEY_LENGTH = 200  # rate_limit_counters.key is String(200)
MAX_NAME_LENGTH = 100  # leaves room for ":sha256:" and 64 hex digits
HASHED_MARKER = "sha256:"


@dataclass(frozen=True)
class RateLimit:
    """A policy: at most ``limit`` hits per fixed ``window`` (whole seconds) and key."""

    name: str
    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if not 0 < len(self.name) <= MAX_NAME_LENGTH:
            raise ValueError(f"rate-limit name must have 1 to {MAX_NAME_LENGTH} characters: {self.name!r}")
        if self.limit < 1:
            raise ValueError(f"rate limit {self.name!r} must allow at least one hit")
        seconds = self.window.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError(f"rate-limit window of {self.name!r} must be a whole number of seconds, at least 1")

    @property
    def window_seconds(self) -> int:
        return int(self.window.total_seconds())


@dataclass(frozen=True)
class RateLimitResult:
    """The outcome of one hit; ``retry_after`` is the seconds until the window ends."""

    allowed: bool
    remaining: int
    retry_after: int


@runtime_checkable
class RateLimiter(Protocol):
    """Counts hits per key in fixed windows; the key is ``f"{policy.name}:{':'.join(identifiers)}"``."""

    async def hit(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> RateLimitResult:
        """Count one hit; refused once the window's count exceeds ``policy.limit``."""
        ...

    async def clear(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> None:
        """Forget the hits of this key, so that the next hit (at ``now``) starts from zero."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Window:
    """The fixed window ``[start, end)`` (unix seconds) that ``moment`` falls in."""

    start: int
    end: int
    moment: float

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)

    def result(self, policy: RateLimit, count: int) -> RateLimitResult:
        return RateLimitResult(
            allowed=count <= policy.limit,
            remaining=max(0, policy.limit - count),
            retry_after=max(1, math.ceil(self.end - self.moment)),
        )


def resolve_now(now: datetime | None) -> datetime:
    """``now`` checked to be timezone-aware, or the current UTC time."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("rate limiting needs a timezone-aware datetime")
    return now


def window_of(policy: RateLimit, now: datetime) -> Window:
    moment = now.timestamp()
    size = policy.window_seconds
    start = math.floor(moment / size) * size
    return Window(start=start, end=start + size, moment=moment)


def rate_limit_key(policy: RateLimit, identifiers: Sequence[str]) -> str:
    """``name:id1:id2``; the identifiers part is hashed when the key would not fit
    the 200-character column or holds unprintable characters (identifiers are
    user input, and Postgres refuses NUL in text)."""
    joined = ":".join(identifiers)
    key = f"{policy.name}:{joined}"
    if len(key) <= MAX_KEY_LENGTH and key.isprintable():
        return key
    digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{policy.name}:{HASHED_MARKER}{digest}"
