"""Policies, results, keys and window arithmetic shared by every limiter."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.ratelimit import RateLimit, RateLimitResult, rate_limit_key
from shared.ratelimit.base import MAX_KEY_LENGTH, resolve_now, window_of

POLICY = RateLimit("login", 10, timedelta(minutes=5))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class TestRateLimit:
    def test_window_seconds(self) -> None:
        assert POLICY.window_seconds == 300

    @pytest.mark.parametrize("name", ["", "n" * 101])
    def test_name_length(self, name: str) -> None:
        with pytest.raises(ValueError, match="name"):
            RateLimit(name, 10, timedelta(minutes=5))

    def test_limit_at_least_one(self) -> None:
        with pytest.raises(ValueError, match="at least one hit"):
            RateLimit("login", 0, timedelta(minutes=5))

    @pytest.mark.parametrize("window", [timedelta(0), timedelta(milliseconds=500), timedelta(seconds=1.5)])
    def test_window_whole_seconds(self, window: timedelta) -> None:
        with pytest.raises(ValueError, match="whole number of seconds"):
            RateLimit("login", 10, window)


class TestRateLimitKey:
    def test_joins_name_and_identifiers(self) -> None:
        assert rate_limit_key(POLICY, ["alice", "10.0.0.1"]) == "login:alice:10.0.0.1"

    def test_no_identifiers(self) -> None:
        assert rate_limit_key(POLICY, []) == "login:"

    def test_longest_plain_key(self) -> None:
        identifier = "x" * (MAX_KEY_LENGTH - len("login:"))

        assert rate_limit_key(POLICY, [identifier]) == f"login:{identifier}"

    def test_too_long_is_hashed(self) -> None:
        identifier = "x" * (MAX_KEY_LENGTH - len("login:") + 1)
        digest = hashlib.sha256(identifier.encode()).hexdigest()

        assert rate_limit_key(POLICY, [identifier]) == f"login:sha256:{digest}"

    def test_hashed_key_fits_with_longest_name(self) -> None:
        policy = RateLimit("n" * 100, 1, timedelta(seconds=1))

        assert len(rate_limit_key(policy, ["x" * 1000])) <= MAX_KEY_LENGTH

    @pytest.mark.parametrize("identifier", ["a\x00b", "a\nb", "\udc80"])
    def test_unprintable_is_hashed(self, identifier: str) -> None:
        assert rate_limit_key(POLICY, [identifier]).startswith("login:sha256:")


class TestWindow:
    def test_aligned_to_window_size(self) -> None:
        window = window_of(POLICY, NOW + timedelta(seconds=299))

        assert window.start == int(NOW.timestamp())
        assert window.end == int(NOW.timestamp()) + 300
        assert window.expires_at == NOW + timedelta(minutes=5)

    def test_other_timezones_are_the_same_instant(self) -> None:
        elsewhere = NOW.astimezone(timezone(timedelta(hours=-7)))

        assert window_of(POLICY, elsewhere) == window_of(POLICY, NOW)

    def test_result_counts(self) -> None:
        window = window_of(POLICY, NOW + timedelta(seconds=0.25))

        assert window.result(POLICY, 10) == RateLimitResult(allowed=True, remaining=0, retry_after=300)
        assert window.result(POLICY, 11) == RateLimitResult(allowed=False, remaining=0, retry_after=300)


class TestResolveNow:
    def test_default_is_current_utc(self) -> None:
        before = datetime.now(UTC)

        assert before <= resolve_now(None) <= datetime.now(UTC)

    def test_aware_is_kept(self) -> None:
        assert resolve_now(NOW) is NOW

    def test_naive_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            resolve_now(datetime(2026, 11, 26))
