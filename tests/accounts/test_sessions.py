"""The login use case and session checks below HTTP, where time is passed in as ``now=``:
session expiry at its exact boundary, and the TOTP window against the real clock
arithmetic (the HTTP tests pin the server's time step instead)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from services.accounts.errors import (
    ApiTokenNotAllowedError,
    InvalidCredentialsError,
    InvalidTwoFactorCodeError,
    SessionRequiredError,
    TwoFactorRequiredError,
)
from services.accounts.mail import MemoryEmailSender
from services.accounts.service import sessions, twofactor
from services.accounts.service.context import AccountsContext, Notifier
from shared.auth.totp import STEP_SECONDS
from shared.config import ServeSettings
from shared.db import Database
from tests.accounts.conftest import PASSWORD
from tests.factories.accounts import TEST_KEYS, make_user

# The first second of a 30-second step, so that "one step ago" and "two steps ago" are exact.
STEP_START = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
assert STEP_START.timestamp() % STEP_SECONDS == 0


@pytest.fixture
def ctx(settings: ServeSettings) -> AccountsContext:
    return AccountsContext(settings=settings, keys=TEST_KEYS, notifier=Notifier(MemoryEmailSender()))


@pytest.fixture
async def alice(db: Database) -> int:
    return await make_user(db, "alice")


@pytest.fixture
async def secret(db: Database, ctx: AccountsContext, alice: int) -> str:
    """alice's TOTP secret, enrolled and confirmed with the code of the step before STEP_START
    minus one hour (so every step near STEP_START is still unused)."""
    confirmed_at = STEP_START - timedelta(hours=1)
    async with db.write_session() as session:
        key, _uri = await twofactor.begin_totp(session, user_id=alice, ctx=ctx)
        await twofactor.confirm_totp(session, user_id=alice, code=pyotp.TOTP(key).at(confirmed_at), ctx=ctx,
                                     now=confirmed_at)
        await session.commit()
    await ctx.notifier.drain()
    return key


async def log_in(db: Database, ctx: AccountsContext, *, now: datetime, password: str = PASSWORD,
                 totp_code: str | None = None) -> sessions.NewSession:
    async with db.write_session() as session:
        new = await sessions.login(session, username="alice", password=password, totp_code=totp_code, ctx=ctx,
                                   now=now)
        await session.commit()
    return new


class TestLogin:
    async def test_session_lasts_session_ttl_from_now(self, db: Database, ctx: AccountsContext, alice: int) -> None:
        new = await log_in(db, ctx, now=STEP_START)
        assert new.expires_at == STEP_START + timedelta(seconds=ctx.settings.session_ttl)
        assert new.token.startswith(sessions.SESSION_PREFIX)

    async def test_wrong_password_raises_invalid_credentials(
        self, db: Database, ctx: AccountsContext, alice: int
    ) -> None:
        with pytest.raises(InvalidCredentialsError):
            await log_in(db, ctx, now=STEP_START, password="not the password")

    async def test_two_factor_user_without_a_code_raises_two_factor_required(
        self, db: Database, ctx: AccountsContext, secret: str
    ) -> None:
        with pytest.raises(TwoFactorRequiredError):
            await log_in(db, ctx, now=STEP_START)

    @pytest.mark.parametrize("seconds", [-STEP_SECONDS, 0, STEP_SECONDS - 1, 2 * STEP_SECONDS - 1])
    async def test_a_code_within_one_step_is_accepted(
        self, db: Database, ctx: AccountsContext, secret: str, seconds: int
    ) -> None:
        """The code of STEP_START's step, typed anywhere from one step early to one step late."""
        code = pyotp.TOTP(secret).at(STEP_START)
        await log_in(db, ctx, now=STEP_START + timedelta(seconds=seconds), totp_code=code)

    @pytest.mark.parametrize("seconds", [-STEP_SECONDS - 1, 2 * STEP_SECONDS])
    async def test_a_code_two_steps_away_is_refused(
        self, db: Database, ctx: AccountsContext, secret: str, seconds: int
    ) -> None:
        code = pyotp.TOTP(secret).at(STEP_START)
        with pytest.raises(InvalidTwoFactorCodeError):
            await log_in(db, ctx, now=STEP_START + timedelta(seconds=seconds), totp_code=code)

    async def test_a_code_is_refused_the_second_time_even_a_step_later(
        self, db: Database, ctx: AccountsContext, secret: str
    ) -> None:
        code = pyotp.TOTP(secret).at(STEP_START)
        await log_in(db, ctx, now=STEP_START, totp_code=code)
        with pytest.raises(InvalidTwoFactorCodeError):
            await log_in(db, ctx, now=STEP_START + timedelta(seconds=STEP_SECONDS), totp_code=code)
        await log_in(db, ctx, now=STEP_START + timedelta(seconds=STEP_SECONDS),
                     totp_code=pyotp.TOTP(secret).at(STEP_START + timedelta(seconds=STEP_SECONDS)))


class TestAuthenticateSession:
    async def test_valid_until_just_before_expiry(self, db: Database, ctx: AccountsContext, alice: int) -> None:
        new = await log_in(db, ctx, now=STEP_START)
        async with db.read_session() as session:
            account = await sessions.authenticate_session(session, new.token,
                                                          now=new.expires_at - timedelta(microseconds=1))
        assert (account.user_id, account.username, account.session_id) == (alice, "alice", new.id)

    async def test_ended_at_expiry(self, db: Database, ctx: AccountsContext, alice: int) -> None:
        new = await log_in(db, ctx, now=STEP_START)
        async with db.read_session() as session:
            with pytest.raises(SessionRequiredError, match="log in again"):
                await sessions.authenticate_session(session, new.token, now=new.expires_at)

    async def test_api_token_is_refused(self, db: Database) -> None:
        async with db.read_session() as session:
            with pytest.raises(ApiTokenNotAllowedError):
                await sessions.authenticate_session(session, "pypi-AgEIcHlwaS5vcmc")

    @pytest.mark.parametrize("secret", ["", "whs-", "whs-unknown", "Basic abc", "whs-" + "x" * 200])
    async def test_anything_else_is_refused(self, db: Database, secret: str) -> None:
        async with db.read_session() as session:
            with pytest.raises(SessionRequiredError):
                await sessions.authenticate_session(session, secret)
