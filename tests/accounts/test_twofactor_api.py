"""Two-factor authentication through HTTP, on both backend pairs: TOTP enrolment, login
with a second factor, reuse and window checks, recovery codes, disabling, rate limits.
Codes are computed with pyotp, an independent implementation of RFC 6238."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.accounts import limits
from shared.auth import totp
from shared.db import Database
from shared.schema import RecoveryCode, User, UserSession
from tests.accounts.conftest import PASSWORD, Outbox, login
from tests.factories.accounts import make_user

STEP = totp.STEP_SECONDS


@dataclass
class Clock:
    """The time step the server's TOTP checks see, pinned so that no test straddles a
    step boundary; ``code(secret, steps)`` is pyotp's code ``steps`` steps from it."""

    step: int

    def code(self, secret: str, steps: int = 0) -> str:
        return pyotp.TOTP(secret).at((self.step + steps) * STEP + STEP // 2)

    def advance(self, steps: int) -> None:
        self.step += steps


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock(int(time.time()) // STEP)
    monkeypatch.setattr(totp, "time_step", lambda now: pinned.step)
    return pinned


@pytest.fixture
async def session(app: object, client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """alice (verified address), logged in without two-factor."""
    await make_user(db, "alice", email_verified=True)
    return await login(client)


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]
    session: dict[str, str]


@pytest.fixture
async def enrolled(client: httpx.AsyncClient, session: dict[str, str], clock: Clock) -> Enrolled:
    """alice with TOTP on, confirmed with the previous step's code (so the pinned step and
    later ones are still fresh), and a session from before."""
    secret = (await client.post("/api/account/2fa/totp", headers=session)).json()["secret"]
    confirmed = await client.post("/api/account/2fa/totp/confirm", json={"code": clock.code(secret, -1)},
                                  headers=session)
    assert confirmed.status_code == 200, confirmed.text
    return Enrolled(secret, confirmed.json()["recovery_codes"], session)


async def try_login(client: httpx.AsyncClient, password: str = PASSWORD, **second_factor: str) -> httpx.Response:
    return await client.post("/api/account/login", json={"username": "alice", "password": password,
                                                         **second_factor})


async def two_factor_on(client: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    response = await client.get("/api/account", headers=headers)
    assert response.status_code == 200
    return response.json()["two_factor"]


async def session_count(db: Database) -> int:
    async with db.read_session() as s:
        return int(await s.scalar(select(func.count()).select_from(UserSession)) or 0)


async def alice_row(db: Database) -> User:
    async with db.read_session() as s:
        user = await s.scalar(select(User).where(User.normalized_username == "alice"))
    assert user is not None
    return user


async def recovery_code_count(db: Database) -> int:
    async with db.read_session() as s:
        return int(await s.scalar(select(func.count()).select_from(RecoveryCode)) or 0)


async def subjects_to(outbox: Outbox, address: str) -> list[str]:
    return [m["Subject"] for m in await outbox.messages() if m["To"] == address]


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def assert_bad_code(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = error_of(response)
    assert error["code"] == "InvalidTwoFactorCode"
    assert "wait for the next code" in error["message"] or "already been used" in error["message"]


def wrong_code(secret: str, clock: Clock) -> str:
    """Six digits that are no code of the steps the server accepts now."""
    valid = {clock.code(secret, steps) for steps in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(10**6)) if c not in valid)


def spaced(code: str) -> str:
    return f"{code[:3]} {code[3:]}"


def dashed(code: str) -> str:
    return f"{code[:3]}-{code[3:]}"


class TestEnrol:
    async def test_gives_a_secret_and_a_provisioning_uri_apps_read(
        self, client: httpx.AsyncClient, db: Database, session: dict[str, str]
    ) -> None:
        response = await client.post("/api/account/2fa/totp", headers=session)
        assert response.status_code == 200, response.text
        body = response.json()
        parsed = pyotp.parse_uri(body["provisioning_uri"])
        assert isinstance(parsed, pyotp.TOTP)
        assert parsed.secret == body["secret"]
        assert parsed.name == "alice"
        assert parsed.issuer == "Wheelhouse"
        assert (parsed.digits, parsed.interval) == (6, 30)
        assert await two_factor_on(client, session) is False  # not before it is confirmed
        assert (await try_login(client)).status_code == 200

    async def test_confirm_with_a_current_code_turns_it_on_and_gives_recovery_codes(
        self, client: httpx.AsyncClient, db: Database, session: dict[str, str], outbox: Outbox
    ) -> None:
        secret = (await client.post("/api/account/2fa/totp", headers=session)).json()["secret"]
        response = await client.post("/api/account/2fa/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                                     headers=session)
        assert response.status_code == 200, response.text
        codes = response.json()["recovery_codes"]
        assert len(codes) == 8 and len(set(codes)) == 8
        assert await recovery_code_count(db) == 8
        assert await two_factor_on(client, session) is True
        assert await subjects_to(outbox, "alice@example.org") == ["Two-factor authentication enabled"]

    async def test_re_enrolment_restarts_with_a_new_secret(
        self, client: httpx.AsyncClient, session: dict[str, str], clock: Clock
    ) -> None:
        first = (await client.post("/api/account/2fa/totp", headers=session)).json()["secret"]
        second = (await client.post("/api/account/2fa/totp", headers=session)).json()["secret"]
        assert first != second
        assert_bad_code(await client.post("/api/account/2fa/totp/confirm", json={"code": clock.code(first)},
                                          headers=session))
        confirmed = await client.post("/api/account/2fa/totp/confirm", json={"code": clock.code(second)},
                                      headers=session)
        assert confirmed.status_code == 200

    async def test_enrolling_while_enabled_is_409(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled
    ) -> None:
        response = await client.post("/api/account/2fa/totp", headers=enrolled.session)
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "TwoFactorState"
        assert "disable it first" in error["message"]
        assert (await alice_row(db)).totp_secret == enrolled.secret  # the working secret is kept

    async def test_confirm_without_enrolment_is_409(
        self, client: httpx.AsyncClient, session: dict[str, str]
    ) -> None:
        response = await client.post("/api/account/2fa/totp/confirm", json={"code": "123456"}, headers=session)
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "TwoFactorState"
        assert "POST /api/account/2fa/totp" in error["message"]

    async def test_confirm_when_already_enabled_is_409(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        response = await client.post("/api/account/2fa/totp/confirm", json={"code": clock.code(enrolled.secret)},
                                     headers=enrolled.session)
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "TwoFactorState"
        assert "nothing to confirm" in error["message"]

    @pytest.mark.parametrize("wrong", ["wrong", "12345", "1234567", "١٢٣٤٥٦"])
    async def test_wrong_code_at_confirm_is_401_and_leaves_it_off(
        self, client: httpx.AsyncClient, db: Database, session: dict[str, str], clock: Clock, wrong: str
    ) -> None:
        await client.post("/api/account/2fa/totp", headers=session)
        response = await client.post("/api/account/2fa/totp/confirm", json={"code": wrong}, headers=session)
        assert_bad_code(response)
        assert await two_factor_on(client, session) is False
        assert await recovery_code_count(db) == 0

    async def test_code_of_another_step_at_confirm_is_401(
        self, client: httpx.AsyncClient, session: dict[str, str], clock: Clock
    ) -> None:
        secret = (await client.post("/api/account/2fa/totp", headers=session)).json()["secret"]
        response = await client.post("/api/account/2fa/totp/confirm", json={"code": clock.code(secret, -2)},
                                     headers=session)
        assert_bad_code(response)


class TestLogin:
    async def test_without_a_second_factor_is_401_two_factor_required(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled
    ) -> None:
        before = await session_count(db)
        response = await try_login(client)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        error = error_of(response)
        assert error["code"] == "TwoFactorRequired"
        assert "totp_code" in error["message"] and "recovery_code" in error["message"]
        assert await session_count(db) == before

    async def test_wrong_password_with_a_code_is_the_wrong_password_answer(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        code = clock.code(enrolled.secret)
        response = await try_login(client, password="not the password", totp_code=code)
        assert response.status_code == 401
        assert error_of(response)["code"] == "InvalidCredentials"
        assert (await try_login(client, totp_code=code)).status_code == 200  # the code was not used up

    async def test_a_valid_code_logs_in(self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock) -> None:
        response = await try_login(client, totp_code=clock.code(enrolled.secret))
        assert response.status_code == 200, response.text
        assert response.json()["token"].startswith("whs-")

    @pytest.mark.parametrize("formatting", [str, spaced, dashed])
    async def test_the_same_code_again_is_refused_however_it_is_written(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock, formatting: object
    ) -> None:
        code = clock.code(enrolled.secret)
        assert (await try_login(client, totp_code=code)).status_code == 200
        assert_bad_code(await try_login(client, totp_code=formatting(code)))  # type: ignore[operator]

    @pytest.mark.parametrize("formatting", [spaced, dashed])
    async def test_a_fresh_code_may_be_written_with_a_space_or_dash(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock, formatting: object
    ) -> None:
        code = formatting(clock.code(enrolled.secret))  # type: ignore[operator]
        assert (await try_login(client, totp_code=code)).status_code == 200

    async def test_a_code_from_two_steps_ago_is_refused(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        clock.advance(5)  # far from the step used at confirmation: only the window can refuse it
        assert_bad_code(await try_login(client, totp_code=clock.code(enrolled.secret, -2)))
        assert_bad_code(await try_login(client, totp_code=clock.code(enrolled.secret, 2)))

    @pytest.mark.parametrize("steps", [-1, 1])
    async def test_a_code_one_step_off_is_accepted(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock, steps: int
    ) -> None:
        clock.advance(5)
        response = await try_login(client, totp_code=clock.code(enrolled.secret, steps))
        assert response.status_code == 200, response.text

    async def test_after_a_later_code_an_earlier_unused_one_is_refused(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        assert (await try_login(client, totp_code=clock.code(enrolled.secret, 1))).status_code == 200
        assert_bad_code(await try_login(client, totp_code=clock.code(enrolled.secret)))

    async def test_one_code_sent_twice_at_once_logs_in_once(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled, clock: Clock
    ) -> None:
        code = clock.code(enrolled.secret)
        before = await session_count(db)
        answers = await asyncio.gather(try_login(client, totp_code=code), try_login(client, totp_code=code))
        assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]
        assert await session_count(db) == before + 1

    async def test_one_recovery_code_sent_twice_at_once_logs_in_once(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled
    ) -> None:
        code = enrolled.recovery_codes[0]
        answers = await asyncio.gather(try_login(client, recovery_code=code), try_login(client, recovery_code=code))
        assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]

    async def test_a_recovery_code_logs_in_once(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled
    ) -> None:
        code = enrolled.recovery_codes[0]
        assert (await try_login(client, recovery_code=code)).status_code == 200
        again = await try_login(client, recovery_code=code)
        assert again.status_code == 401
        error = error_of(again)
        assert error["code"] == "InvalidTwoFactorCode"
        assert "already been used" in error["message"] and "use another" in error["message"]
        assert (await try_login(client, recovery_code=enrolled.recovery_codes[1])).status_code == 200

    async def test_a_recovery_code_may_be_typed_in_capitals_without_dashes(
        self, client: httpx.AsyncClient, enrolled: Enrolled
    ) -> None:
        typed = enrolled.recovery_codes[0].replace("-", "").upper()
        assert (await try_login(client, recovery_code=typed)).status_code == 200
        assert (await try_login(client, recovery_code=enrolled.recovery_codes[0])).status_code == 401

    async def test_an_unknown_recovery_code_is_refused(self, client: httpx.AsyncClient, enrolled: Enrolled) -> None:
        response = await try_login(client, recovery_code="aaaa-bbbb-cccc-dddd")
        assert response.status_code == 401
        assert error_of(response)["code"] == "InvalidTwoFactorCode"


class TestDisable:
    async def disable(self, client: httpx.AsyncClient, enrolled: Enrolled, **proof: str) -> httpx.Response:
        return await client.post("/api/account/2fa/totp/disable", json=proof, headers=enrolled.session)

    async def test_with_a_fresh_code_turns_it_off(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled, clock: Clock, outbox: Outbox
    ) -> None:
        response = await self.disable(client, enrolled, code=clock.code(enrolled.secret))
        assert response.status_code == 204, response.text
        assert await two_factor_on(client, enrolled.session) is False
        assert (await try_login(client)).status_code == 200
        row = await alice_row(db)
        assert (row.totp_secret, row.totp_last_step) == (None, None)
        assert await recovery_code_count(db) == 0
        # Background sends may land in either order: look for the message, not at the last one.
        assert "Two-factor authentication disabled" in await subjects_to(outbox, "alice@example.org")

    async def test_the_code_just_used_to_log_in_is_refused(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        code = clock.code(enrolled.secret)
        headers = await login(client, totp_code=code)
        response = await client.post("/api/account/2fa/totp/disable", json={"code": code}, headers=headers)
        assert_bad_code(response)
        assert await two_factor_on(client, headers) is True
        fresh = await client.post("/api/account/2fa/totp/disable", json={"code": clock.code(enrolled.secret, 1)},
                                  headers=headers)
        assert fresh.status_code == 204

    async def test_with_a_recovery_code(self, client: httpx.AsyncClient, enrolled: Enrolled) -> None:
        response = await self.disable(client, enrolled, recovery_code=enrolled.recovery_codes[0])
        assert response.status_code == 204
        assert await two_factor_on(client, enrolled.session) is False

    async def test_without_a_second_factor_is_401(self, client: httpx.AsyncClient, enrolled: Enrolled) -> None:
        response = await self.disable(client, enrolled)
        assert response.status_code == 401
        assert error_of(response)["code"] == "TwoFactorRequired"
        assert await two_factor_on(client, enrolled.session) is True

    async def test_with_a_wrong_code_is_401(self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock) -> None:
        assert_bad_code(await self.disable(client, enrolled, code=wrong_code(enrolled.secret, clock)))
        assert await two_factor_on(client, enrolled.session) is True

    async def test_when_not_enabled_is_409(self, client: httpx.AsyncClient, session: dict[str, str]) -> None:
        response = await client.post("/api/account/2fa/totp/disable", json={"code": "123456"}, headers=session)
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "TwoFactorState"
        assert "not enabled" in error["message"] and "POST /api/account/2fa/totp" in error["message"]

    async def test_re_enrolment_after_disabling_needs_a_new_secret(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        assert (await self.disable(client, enrolled, code=clock.code(enrolled.secret))).status_code == 204
        secret = (await client.post("/api/account/2fa/totp", headers=enrolled.session)).json()["secret"]
        assert secret != enrolled.secret
        confirmed = await client.post("/api/account/2fa/totp/confirm", json={"code": clock.code(secret)},
                                      headers=enrolled.session)
        assert confirmed.status_code == 200
        assert set(confirmed.json()["recovery_codes"]).isdisjoint(enrolled.recovery_codes)


class TestRecoveryCodes:
    async def test_regenerating_replaces_every_code(
        self, client: httpx.AsyncClient, db: Database, enrolled: Enrolled, clock: Clock
    ) -> None:
        response = await client.post("/api/account/2fa/recovery-codes", json={"code": clock.code(enrolled.secret)},
                                     headers=enrolled.session)
        assert response.status_code == 200, response.text
        fresh = response.json()["recovery_codes"]
        assert len(fresh) == 8 and len(set(fresh)) == 8
        assert set(fresh).isdisjoint(enrolled.recovery_codes)
        assert await recovery_code_count(db) == 8
        for old in enrolled.recovery_codes[:2]:
            assert (await try_login(client, recovery_code=old)).status_code == 401
        assert (await try_login(client, recovery_code=fresh[0])).status_code == 200

    async def test_regenerating_needs_a_fresh_code(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        code = clock.code(enrolled.secret)
        await login(client, totp_code=code)
        response = await client.post("/api/account/2fa/recovery-codes", json={"code": code},
                                     headers=enrolled.session)
        assert_bad_code(response)
        assert (await try_login(client, recovery_code=enrolled.recovery_codes[0])).status_code == 200

    async def test_regenerating_without_two_factor_is_409(
        self, client: httpx.AsyncClient, session: dict[str, str]
    ) -> None:
        response = await client.post("/api/account/2fa/recovery-codes", json={"code": "123456"}, headers=session)
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "TwoFactorState"
        assert "POST /api/account/2fa/totp" in error["message"]


@pytest.mark.usefixtures("pinned_limits")
class TestRateLimit:
    async def test_eleventh_two_factor_attempt_is_429(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        # The confirmation in the fixture counted as one attempt.
        wrong = wrong_code(enrolled.secret, clock)
        for _ in range(limits.TWO_FACTOR_PER_USER.limit - 1):
            response = await client.post("/api/account/2fa/totp/disable", json={"code": wrong},
                                         headers=enrolled.session)
            assert response.status_code == 401
        late = await client.post("/api/account/2fa/totp/disable", json={"code": clock.code(enrolled.secret)},
                                 headers=enrolled.session)
        assert late.status_code == 429, late.text
        assert int(late.headers["retry-after"]) >= 1
        error = error_of(late)
        assert error["code"] == "TooManyRequests"
        assert error["message"].startswith(limits.TOO_MANY_2FA)
        assert "Try again in" in error["message"]
        assert await two_factor_on(client, enrolled.session) is True

    async def test_codes_sent_to_login_share_the_limit(
        self, client: httpx.AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        wrong = wrong_code(enrolled.secret, clock)
        for _ in range(limits.TWO_FACTOR_PER_USER.limit - 2):
            response = await client.post("/api/account/2fa/totp/disable", json={"code": wrong},
                                         headers=enrolled.session)
            assert response.status_code == 401
        assert_bad_code(await try_login(client, totp_code=wrong))
        late = await try_login(client, totp_code=clock.code(enrolled.secret))
        assert late.status_code == 429, late.text
        assert error_of(late)["message"].startswith(limits.TOO_MANY_2FA)
