"""Helpers for the account API's tests: the accounts app inside the all-in-one app, its
outgoing email (the file backend, as on the embedded default), and logging in."""

from __future__ import annotations

import email.message
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.accounts.mail import read_messages
from services.all_in_one import AllInOne
from shared.ratelimit import RateLimit, RateLimiter, RateLimitResult
from shared.config import ServeSettings

PASSWORD = "correct horse battery"  # tests/factories/accounts.py make_user's default


@pytest.fixture
def accounts_app(app: AllInOne) -> FastAPI:
    return next(service for prefixes, service in app.routes if "/api/account" in prefixes)


@dataclass
class Outbox:
    accounts_app: FastAPI
    settings: ServeSettings

    async def messages(self) -> list[email.message.EmailMessage]:
        """Every email sent so far (waits for the background sends to finish)."""
        await self.accounts_app.state.accounts.notifier.drain()
        assert self.settings.email_dir is not None
        return read_messages(self.settings.email_dir)

    async def last_to(self, address: str) -> email.message.EmailMessage:
        found = [m for m in await self.messages() if m["To"] == address]
        assert found, f"no email to {address}"
        return found[-1]


@pytest.fixture
def outbox(accounts_app: FastAPI, settings: ServeSettings) -> Outbox:
    return Outbox(accounts_app, settings)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD,
                **second_factor: str) -> dict[str, str]:
    """Log in and return the headers that carry the session."""
    response = await client.post("/api/account/login",
                                 json={"username": username, "password": password, **second_factor})
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


class PinnedClockLimiter:
    """The app's limiter with every hit counted at one moment (no window boundary mid-test)."""

    def __init__(self, inner: RateLimiter, now: datetime) -> None:
        self.inner = inner
        self.now = now

    async def hit(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> RateLimitResult:
        return await self.inner.hit(policy, *identifiers, now=self.now)

    async def clear(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> None:
        await self.inner.clear(policy, *identifiers, now=self.now)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def pinned_limits(accounts_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_app.state, "rate_limiter",
                        PinnedClockLimiter(accounts_app.state.rate_limiter, datetime.now(UTC)))
