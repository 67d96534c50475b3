"""The account API through HTTP, on both backend pairs: registration, login sessions,
passwords, email verification, deactivation, rate limits and the OpenAPI document."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import func, select, update

from services.accounts import limits
from services.accounts.app import create_app as create_accounts_app
from services.accounts.routes import account, audit, publishing, roles, tokens, twofactor
from services.accounts.service import deactivate_user
from services.accounts.service.users import RESET_PURPOSE, VERIFY_PURPOSE
from shared.auth import passwords, signing
from shared.config import ServeSettings
from shared.db import Database
from shared.schema import Email, User, UserSession
from tests.accounts.conftest import PASSWORD, Outbox, bearer, login
from tests.factories.accounts import TEST_KEYS, make_token, make_user
from tests.factories.uploads import upload
from tests.upload.validation.builders import build_wheel

NEW_PASSWORD = "a longer passphrase than before"
_TOKEN_IN_BODY = re.compile(r'"token": "([^"]+)"')
_VERIFY_LINK = re.compile(r"(https?://\S+/api/account/email/verify\?token=(\S+))")


# Reading and moving the database's state


async def user_rows(db: Database) -> tuple[int, int]:
    """How many users and email addresses exist."""
    async with db.read_session() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        emails = await session.scalar(select(func.count()).select_from(Email))
    return int(users or 0), int(emails or 0)


async def session_count(db: Database, username: str = "alice") -> int:
    async with db.read_session() as session:
        return int(await session.scalar(
            select(func.count()).select_from(UserSession).join(User, User.id == UserSession.user_id)
            .where(User.normalized_username == username)
        ) or 0)


async def user_id_of(db: Database, username: str) -> int:
    async with db.read_session() as session:
        found = await session.scalar(select(User.id).where(User.normalized_username == username))
    assert found is not None
    return found


async def end_sessions_at(db: Database, moment: datetime) -> None:
    async with db.write_session() as session:
        await session.execute(update(UserSession).values(expires_at=moment))
        await session.commit()


async def deactivate(db: Database, username: str) -> None:
    async with db.write_session() as session:
        await deactivate_user(session, username)
        await session.commit()


# Emails


VERIFY_SUBJECT = "Verify your email address"
RESET_SUBJECT = "Reset your password"
CHANGED_SUBJECT = "Your password was changed"


async def mail_to(outbox: Outbox, address: str, subject: str) -> EmailMessage:
    """The latest email of that subject to ``address`` (background sends may land in any order,
    so the subject picks the message, not its position)."""
    found = [m for m in await outbox.messages() if m["To"] == address and m["Subject"] == subject]
    assert found, f"no {subject!r} email to {address}"
    return found[-1]


def body_of(message: object) -> str:
    return message.get_content()  # type: ignore[attr-defined]


def verify_link_in(message: object) -> tuple[str, str]:
    """The verification link of an email, and the token it carries."""
    found = _VERIFY_LINK.search(body_of(message))
    assert found, body_of(message)
    return found.group(1), found.group(2)


def reset_token_in(message: object) -> str:
    found = _TOKEN_IN_BODY.search(body_of(message))
    assert found, body_of(message)
    return found.group(1)


def resigned(token: str, *, purpose: str, issued: datetime) -> str:
    """The same payload as ``token``, genuinely signed, but issued at ``issued``."""
    payload = signing.unsign(TEST_KEYS, purpose=purpose, value=token, max_age=timedelta(days=3650))
    return signing.sign(TEST_KEYS[0], purpose=purpose, payload=payload, now=issued)


def tampered(token: str, **changes: object) -> str:
    """``token`` with its payload edited and its signature kept (what an attacker can do)."""
    body, _, mac = token.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields["p"].update(changes)
    raw = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


# Fixtures


@pytest.fixture
async def alice(app: object, db: Database) -> int:
    return await make_user(db, "alice")


@pytest.fixture
async def alice_session(client: httpx.AsyncClient, alice: int) -> dict[str, str]:
    return await login(client)


async def register(client: httpx.AsyncClient, username: str = "alice", email: str = "alice@example.org",
                   password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/account/register",
                             json={"username": username, "email": email, "password": password})


async def try_login(client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD,
                    **second_factor: str) -> httpx.Response:
    return await client.post("/api/account/login", json={"username": username, "password": password,
                                                         **second_factor})


class CountingHasher(PasswordHasher):
    """argon2 at the tests' cost, counting every verification and noting the threads it ran on."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0
        self.hashes = 0
        self.threads: set[int] = set()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's name
        self.verifications += 1
        self.threads.add(threading.get_ident())
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashes += 1
        self.threads.add(threading.get_ident())
        return super().hash(password, salt=salt)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


# Registration


class TestRegister:
    async def test_creates_the_account_and_emails_a_verification_link(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox
    ) -> None:
        response = await register(client)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["username"] == "alice"
        assert body["two_factor"] is False
        assert body["emails"] == [{"email": "alice@example.org", "verified": False, "primary": True}]
        assert await user_rows(db) == (1, 1)
        message = await mail_to(outbox, "alice@example.org", VERIFY_SUBJECT)
        link, _token = verify_link_in(message)
        assert link.startswith("http://testserver/api/account/email/verify?token=")

    async def test_opening_the_link_verifies_the_address(
        self, client: httpx.AsyncClient, outbox: Outbox
    ) -> None:
        assert (await register(client)).status_code == 201
        link, _token = verify_link_in(await mail_to(outbox, "alice@example.org", VERIFY_SUBJECT))
        opened = await client.get(link)
        assert opened.status_code == 200, opened.text
        assert opened.json() == {"email": "alice@example.org", "verified": True, "primary": True}
        me = await client.get("/api/account", headers=await login(client))
        assert me.json()["emails"] == [{"email": "alice@example.org", "verified": True, "primary": True}]

    async def test_username_keeps_its_case_and_email_is_stored_lower_case(
        self, client: httpx.AsyncClient, outbox: Outbox
    ) -> None:
        response = await register(client, "Alice.Smith", "Alice@Example.ORG")
        assert response.status_code == 201
        assert response.json()["username"] == "Alice.Smith"
        assert response.json()["emails"][0]["email"] == "alice@example.org"
        me = await client.get("/api/account", headers=await login(client, "alice.smith"))
        assert me.json()["username"] == "Alice.Smith"
        assert me.json()["emails"][0]["email"] == "alice@example.org"

    @pytest.mark.parametrize("username", [
        "al ice",
        "-alice",
        "alice-",
        "álice",
        "alice\n",
        "",
        "a" * 51,
    ])
    async def test_bad_username_is_refused_and_nothing_is_created(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox, username: str
    ) -> None:
        response = await register(client, username)
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["code"] == "InvalidUsername"
        assert "ASCII letters, digits" in error["message"]
        assert await user_rows(db) == (0, 0)
        assert await outbox.messages() == []

    async def test_fifty_character_username_is_accepted(self, client: httpx.AsyncClient) -> None:
        assert (await register(client, "a" * 50)).status_code == 201

    async def test_username_over_fifty_characters_is_refused_and_nothing_is_created(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        response = await register(client, "a" * 51)
        assert 400 <= response.status_code < 500
        assert "50" in error_of(response)["message"]
        assert await user_rows(db) == (0, 0)

    @pytest.mark.parametrize("username", ["alice", "Alice", "ALICE"])
    async def test_taken_username_is_refused_whatever_its_case(
        self, client: httpx.AsyncClient, db: Database, alice: int, username: str
    ) -> None:
        response = await register(client, username, "other@example.org")
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "UserExists"
        assert "choose another username" in error["message"]
        assert await user_rows(db) == (1, 1)

    async def test_two_registrations_of_one_name_at_once_give_one_account(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        answers = await asyncio.gather(register(client, "alice", "first@example.org"),
                                       register(client, "Alice", "second@example.org"))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert error_of(refused)["code"] == "UserExists"
        assert await user_rows(db) == (1, 1)

    async def test_two_registrations_of_one_address_at_once_give_one_account(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        answers = await asyncio.gather(register(client, "alice", "same@example.org"),
                                       register(client, "bob", "SAME@example.org"))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        assert await user_rows(db) == (1, 1)

    @pytest.mark.parametrize("email", ["alice@example.org", "ALICE@Example.Org"])
    async def test_taken_email_is_refused_whatever_its_case(
        self, client: httpx.AsyncClient, db: Database, alice: int, email: str
    ) -> None:
        response = await register(client, "bob", email)
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "UserExists"
        assert "already in use" in error["message"] and "another address" in error["message"]
        assert await user_rows(db) == (1, 1)

    @pytest.mark.parametrize("email", ["not-an-email", "alice@localhost", "a b@example.org", "@example.org"])
    async def test_bad_email_is_refused(self, client: httpx.AsyncClient, db: Database, email: str) -> None:
        response = await register(client, email=email)
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidEmail"
        assert "give an address such as" in error["message"]
        assert await user_rows(db) == (0, 0)

    async def test_short_password_is_refused(self, client: httpx.AsyncClient, db: Database, outbox: Outbox) -> None:
        response = await register(client, password="short")
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidPassword"
        assert "at least" in error["message"] or "between" in error["message"]
        assert await user_rows(db) == (0, 0)
        assert await outbox.messages() == []


class TestPasswordHashing:
    async def test_argon2_never_runs_on_the_event_loop(
        self, client: httpx.AsyncClient, outbox: Outbox, hasher: CountingHasher
    ) -> None:
        """argon2 at production cost takes about half a second: on the event loop it would
        stall every other request of the process (STYLE: CPU work goes through to_thread)."""
        assert (await register(client)).status_code == 201
        assert (await try_login(client, "nobody")).status_code == 401
        assert (await try_login(client, password="not the password")).status_code == 401
        headers = await login(client)
        changed = await client.post("/api/account/password", headers=headers,
                                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert changed.status_code == 204
        await client.post("/api/account/password/reset-request", json={"username_or_email": "alice"})
        token = reset_token_in(await mail_to(outbox, "alice@example.org", RESET_SUBJECT))
        reset = await client.post("/api/account/password/reset", json={"token": token, "new_password": PASSWORD})
        assert reset.status_code == 204
        deactivated = await client.post("/api/account/deactivate", json={"password": PASSWORD},
                                        headers=await login(client))
        assert deactivated.status_code == 204
        assert hasher.verifications >= 6 and hasher.hashes >= 3
        assert threading.get_ident() not in hasher.threads


# Login and sessions


class TestLogin:
    async def test_returns_a_session_token_that_opens_the_account(
        self, client: httpx.AsyncClient, settings: ServeSettings, alice: int
    ) -> None:
        before = datetime.now(UTC)
        response = await try_login(client)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token"].startswith("whs-")
        assert body["username"] == "alice"
        expires = datetime.fromisoformat(body["expires_at"])
        assert before + timedelta(seconds=settings.session_ttl - 5) < expires
        assert expires <= datetime.now(UTC) + timedelta(seconds=settings.session_ttl)
        me = await client.get("/api/account", headers=bearer(body["token"]))
        assert me.status_code == 200
        assert me.json()["username"] == "alice"

    async def test_username_is_case_insensitive(self, client: httpx.AsyncClient, alice: int) -> None:
        response = await try_login(client, " ALICE ")
        assert response.status_code == 200
        assert response.json()["username"] == "alice"

    async def test_wrong_password_and_unknown_user_answer_alike_at_the_same_cost(
        self, client: httpx.AsyncClient, alice: int, hasher: CountingHasher
    ) -> None:
        wrong = await try_login(client, password="not the password")
        wrong_cost = hasher.verifications
        unknown = await try_login(client, "nobody", password="not the password")
        unknown_cost = hasher.verifications - wrong_cost
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.content == unknown.content
        assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
        error = error_of(wrong)
        assert error["code"] == "InvalidCredentials"
        assert error["message"].startswith("Wrong username or password.")
        assert "POST /api/account/password/reset-request" in error["message"]
        assert wrong_cost == unknown_cost == 1

    async def test_deactivated_user_gets_the_wrong_password_answer(
        self, client: httpx.AsyncClient, db: Database, alice: int, hasher: CountingHasher
    ) -> None:
        wrong = await try_login(client, password="not the password")
        await deactivate(db, "alice")
        before = hasher.verifications
        refused = await try_login(client)
        assert refused.status_code == 401
        assert refused.content == wrong.content
        assert hasher.verifications - before == 1
        assert await session_count(db) == 0

    async def test_wrong_password_creates_no_session(self, client: httpx.AsyncClient, db: Database, alice: int) -> None:
        assert (await try_login(client, password="not the password")).status_code == 401
        assert await session_count(db) == 0


class TestSessions:
    async def test_no_credentials_is_401_with_a_bearer_challenge(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/account")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        error = error_of(response)
        assert error["code"] == "SessionRequired"
        assert "POST /api/account/login" in error["message"]

    async def test_unknown_session_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/account", headers=bearer("whs-not-a-session"))
        assert response.status_code == 401
        assert "log in again" in error_of(response)["message"]

    @pytest.mark.parametrize(("method", "path", "body"), [
        ("GET", "/api/account", None),
        ("POST", "/api/account/logout", None),
        ("POST", "/api/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("POST", "/api/account/email/verification", None),
        ("POST", "/api/account/deactivate", {"password": PASSWORD}),
        ("POST", "/api/account/2fa/totp", None),
        ("GET", "/api/account/tokens", None),
        ("POST", "/api/account/tokens", {"name": "more"}),
    ])
    async def test_api_token_cannot_manage_the_account(
        self, client: httpx.AsyncClient, db: Database, alice: int, method: str, path: str, body: dict | None
    ) -> None:
        token = await make_token(db, "alice")
        response = await client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == 403
        error = error_of(response)
        assert error["code"] == "ApiTokenNotAllowed"
        assert "cannot manage the account" in error["message"]
        assert "POST /api/account/login" in error["message"]

    async def test_logout_ends_the_session(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str]
    ) -> None:
        other = await login(client)
        response = await client.post("/api/account/logout", headers=alice_session)
        assert response.status_code == 204
        after = await client.get("/api/account", headers=alice_session)
        assert after.status_code == 401
        assert error_of(after)["code"] == "SessionRequired"
        assert (await client.get("/api/account", headers=other)).status_code == 200  # only this session ended
        assert await session_count(db) == 1

    async def test_expired_session_is_401(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str]
    ) -> None:
        await end_sessions_at(db, datetime.now(UTC) - timedelta(seconds=1))
        response = await client.get("/api/account", headers=alice_session)
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == "SessionRequired"
        assert "log in again" in error["message"]

    async def test_session_still_valid_until_it_expires(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str]
    ) -> None:
        await end_sessions_at(db, datetime.now(UTC) + timedelta(seconds=30))
        assert (await client.get("/api/account", headers=alice_session)).status_code == 200

    async def test_expired_sessions_are_deleted_at_the_next_login(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str]
    ) -> None:
        await end_sessions_at(db, datetime.now(UTC) - timedelta(seconds=1))
        await login(client)
        assert await session_count(db) == 1


class TestAccount:
    async def test_shows_the_account_and_the_upload_policy(
        self, client: httpx.AsyncClient, alice_session: dict[str, str]
    ) -> None:
        response = await client.get("/api/account", headers=alice_session)
        assert response.status_code == 200
        body = response.json()
        assert body["username"] == "alice"
        assert body["two_factor"] is False
        assert body["emails"] == [{"email": "alice@example.org", "verified": False, "primary": True}]
        assert set(body["upload_policy"]) == {"requires_2fa", "requires_verified_email"}


# Passwords


class TestChangePassword:
    async def change(self, client: httpx.AsyncClient, headers: dict[str, str], current: str = PASSWORD,
                     new: str = NEW_PASSWORD) -> httpx.Response:
        return await client.post("/api/account/password", json={"current_password": current, "new_password": new},
                                 headers=headers)

    async def test_wrong_current_password_is_401_and_changes_nothing(
        self, client: httpx.AsyncClient, alice_session: dict[str, str], outbox: Outbox
    ) -> None:
        response = await self.change(client, alice_session, current="not the password")
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == "InvalidCredentials"
        assert "current password is wrong" in error["message"] and "current_password" in error["message"]
        assert (await client.get("/api/account", headers=alice_session)).status_code == 200
        assert (await try_login(client)).status_code == 200
        assert await outbox.messages() == []

    async def test_success_ends_every_session_and_swaps_the_password(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str], outbox: Outbox
    ) -> None:
        other = await login(client)
        response = await self.change(client, alice_session)
        assert response.status_code == 204
        for headers in (alice_session, other):
            assert (await client.get("/api/account", headers=headers)).status_code == 401
        assert await session_count(db) == 0
        assert (await try_login(client)).status_code == 401
        assert (await try_login(client, password=NEW_PASSWORD)).status_code == 200
        message = await mail_to(outbox, "alice@example.org", CHANGED_SUBJECT)
        assert "reset your password" in body_of(message)

    async def test_short_new_password_is_refused(
        self, client: httpx.AsyncClient, alice_session: dict[str, str]
    ) -> None:
        response = await self.change(client, alice_session, new="short")
        assert response.status_code == 400
        assert error_of(response)["code"] == "InvalidPassword"
        assert (await client.get("/api/account", headers=alice_session)).status_code == 200
        assert (await try_login(client)).status_code == 200


class TestPasswordReset:
    async def request_reset(self, client: httpx.AsyncClient, who: str) -> httpx.Response:
        return await client.post("/api/account/password/reset-request", json={"username_or_email": who})

    async def reset(self, client: httpx.AsyncClient, token: str, new: str = NEW_PASSWORD) -> httpx.Response:
        return await client.post("/api/account/password/reset", json={"token": token, "new_password": new})

    async def reset_token(self, client: httpx.AsyncClient, outbox: Outbox, who: str = "alice") -> str:
        assert (await self.request_reset(client, who)).status_code == 202
        return reset_token_in(await mail_to(outbox, "alice@example.org", RESET_SUBJECT))

    async def test_same_answer_for_username_email_and_unknown_and_only_accounts_get_mail(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox
    ) -> None:
        await make_user(db, "alice")
        await make_user(db, "bob")
        answers = [await self.request_reset(client, who) for who in ("Alice", "BOB@example.org", "nobody")]
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert answers[0].content == answers[1].content == answers[2].content
        assert "If an account matches" in answers[0].json()["message"]
        nobody = await self.request_reset(client, "nobody@example.org")
        assert nobody.status_code == 202
        assert nobody.content == answers[0].content
        messages = await outbox.messages()
        assert sorted(m["To"] for m in messages) == ["alice@example.org", "bob@example.org"]
        assert all(m["Subject"] == "Reset your password" for m in messages)

    async def test_token_from_the_email_sets_a_new_password(
        self, client: httpx.AsyncClient, alice: int, outbox: Outbox
    ) -> None:
        token = await self.reset_token(client, outbox)
        response = await self.reset(client, token)
        assert response.status_code == 204, response.text
        assert (await try_login(client)).status_code == 401
        assert (await try_login(client, password=NEW_PASSWORD)).status_code == 200
        await mail_to(outbox, "alice@example.org", CHANGED_SUBJECT)

    async def test_token_works_once(self, client: httpx.AsyncClient, alice: int, outbox: Outbox) -> None:
        token = await self.reset_token(client, outbox)
        assert (await self.reset(client, token)).status_code == 204
        again = await self.reset(client, token, new="yet another passphrase")
        assert again.status_code == 400
        error = error_of(again)
        assert error["code"] == "InvalidLink"
        assert "ask for a new one" in error["message"]
        assert (await try_login(client, password=NEW_PASSWORD)).status_code == 200

    async def test_token_works_once_even_when_sent_twice_at_once(
        self, client: httpx.AsyncClient, alice: int, outbox: Outbox
    ) -> None:
        token = await self.reset_token(client, outbox)
        answers = await asyncio.gather(self.reset(client, token, new="first new passphrase"),
                                       self.reset(client, token, new="second new passphrase"))
        assert sorted(a.status_code for a in answers) == [204, 400], [a.text for a in answers]
        winner = "first new passphrase" if answers[0].status_code == 204 else "second new passphrase"
        assert (await try_login(client, password=winner)).status_code == 200

    async def test_token_stops_working_when_the_password_changes_otherwise(
        self, client: httpx.AsyncClient, alice: int, outbox: Outbox
    ) -> None:
        token = await self.reset_token(client, outbox)
        changed = await client.post("/api/account/password", headers=await login(client),
                                    json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert changed.status_code == 204
        response = await self.reset(client, token, new="yet another passphrase")
        assert response.status_code == 400
        assert error_of(response)["code"] == "InvalidLink"

    async def test_expired_token_is_refused(
        self, client: httpx.AsyncClient, settings: ServeSettings, alice: int, outbox: Outbox
    ) -> None:
        token = await self.reset_token(client, outbox)
        old = resigned(token, purpose=RESET_PURPOSE,
                       issued=datetime.now(UTC) - timedelta(seconds=settings.password_reset_ttl + 60))
        response = await self.reset(client, old)
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidLink"
        assert "expired" in error["message"] and "ask for a new one" in error["message"]
        assert (await try_login(client)).status_code == 200

    async def test_tampered_token_is_refused(
        self, client: httpx.AsyncClient, db: Database, alice: int, outbox: Outbox
    ) -> None:
        bob = await make_user(db, "bob")
        token = await self.reset_token(client, outbox)
        response = await self.reset(client, tampered(token, u=bob))
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidLink"
        assert "copy the whole link" in error["message"]
        assert (await try_login(client, "bob")).status_code == 200

    async def test_verification_token_is_not_a_reset_token(
        self, client: httpx.AsyncClient, outbox: Outbox
    ) -> None:
        assert (await register(client)).status_code == 201
        _link, token = verify_link_in(await mail_to(outbox, "alice@example.org", VERIFY_SUBJECT))
        response = await self.reset(client, token)
        assert response.status_code == 400
        assert error_of(response)["code"] == "InvalidLink"

    async def test_reset_ends_every_session(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str], outbox: Outbox
    ) -> None:
        token = await self.reset_token(client, outbox)
        assert (await self.reset(client, token)).status_code == 204
        assert (await client.get("/api/account", headers=alice_session)).status_code == 401
        assert await session_count(db) == 0

    async def test_short_new_password_keeps_the_token_usable(
        self, client: httpx.AsyncClient, alice: int, outbox: Outbox
    ) -> None:
        token = await self.reset_token(client, outbox)
        short = await self.reset(client, token, new="short")
        assert short.status_code == 400
        assert error_of(short)["code"] == "InvalidPassword"
        assert (await self.reset(client, token)).status_code == 204

    async def test_deactivated_account_gets_no_email(
        self, client: httpx.AsyncClient, db: Database, alice: int, outbox: Outbox
    ) -> None:
        await deactivate(db, "alice")
        assert (await self.request_reset(client, "alice")).status_code == 202
        assert await outbox.messages() == []


# Email verification


class TestEmailVerification:
    async def test_resend_sends_a_new_link_that_verifies(
        self, client: httpx.AsyncClient, alice_session: dict[str, str], outbox: Outbox
    ) -> None:
        response = await client.post("/api/account/email/verification", headers=alice_session)
        assert response.status_code == 202
        assert "alice@example.org" in response.json()["message"]
        messages = await outbox.messages()
        assert len(messages) == 1
        _link, token = verify_link_in(messages[0])
        verified = await client.post("/api/account/email/verify", json={"token": token})
        assert verified.status_code == 200
        assert verified.json()["verified"] is True
        me = await client.get("/api/account", headers=alice_session)
        assert me.json()["emails"][0]["verified"] is True

    async def test_opening_the_link_twice_is_harmless(self, client: httpx.AsyncClient, outbox: Outbox) -> None:
        assert (await register(client)).status_code == 201
        link, _token = verify_link_in(await mail_to(outbox, "alice@example.org", VERIFY_SUBJECT))
        assert (await client.get(link)).status_code == 200
        again = await client.get(link)
        assert again.status_code == 200
        assert again.json()["verified"] is True

    async def test_tampered_token_is_refused(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox
    ) -> None:
        assert (await register(client)).status_code == 201
        await make_user(db, "bob")
        _link, token = verify_link_in(await mail_to(outbox, "alice@example.org", VERIFY_SUBJECT))
        response = await client.get("/api/account/email/verify",
                                    params={"token": tampered(token, a="bob@example.org")})
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidLink"
        assert "copy the whole link" in error["message"]
        me = await client.get("/api/account", headers=await login(client))
        assert me.json()["emails"][0]["verified"] is False

    async def test_expired_token_is_refused(
        self, client: httpx.AsyncClient, settings: ServeSettings, outbox: Outbox
    ) -> None:
        assert (await register(client)).status_code == 201
        _link, token = verify_link_in(await mail_to(outbox, "alice@example.org", VERIFY_SUBJECT))
        old = resigned(token, purpose=VERIFY_PURPOSE,
                       issued=datetime.now(UTC) - timedelta(seconds=settings.email_verification_ttl + 60))
        response = await client.get("/api/account/email/verify", params={"token": old})
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidLink"
        assert "expired" in error["message"] and "ask for a new one" in error["message"]

    async def test_reset_token_is_not_a_verification_token(
        self, client: httpx.AsyncClient, alice: int, outbox: Outbox
    ) -> None:
        await client.post("/api/account/password/reset-request", json={"username_or_email": "alice"})
        token = reset_token_in(await mail_to(outbox, "alice@example.org", RESET_SUBJECT))
        response = await client.post("/api/account/email/verify", json={"token": token})
        assert response.status_code == 400
        assert error_of(response)["code"] == "InvalidLink"


# Deactivation


class TestDeactivate:
    async def test_ends_login_sessions_and_api_tokens(
        self, client: httpx.AsyncClient, db: Database, alice_session: dict[str, str], tmp_path: Path
    ) -> None:
        token = await make_token(db, "alice")
        response = await client.post("/api/account/deactivate", json={"password": PASSWORD},
                                     headers=alice_session)
        assert response.status_code == 204
        assert (await client.get("/api/account", headers=alice_session)).status_code == 401
        refused = await try_login(client)
        assert refused.status_code == 401
        assert error_of(refused)["message"].startswith("Wrong username or password.")
        assert await session_count(db) == 0
        uploaded = await upload(client, build_wheel(tmp_path, name="demo", version="1.0"), token=token)
        assert uploaded.status_code == 403
        assert "deactivated" in uploaded.text

    async def test_wrong_password_is_401_and_changes_nothing(
        self, client: httpx.AsyncClient, alice_session: dict[str, str]
    ) -> None:
        response = await client.post("/api/account/deactivate", json={"password": "not the password"},
                                     headers=alice_session)
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == "InvalidCredentials"
        assert "password is wrong" in error["message"] and "to confirm" in error["message"]
        assert (await client.get("/api/account", headers=alice_session)).status_code == 200


# Rate limits


@pytest.mark.usefixtures("pinned_limits")
class TestRateLimits:
    def assert_limited(self, response: httpx.Response, message: str) -> None:
        assert response.status_code == 429, response.text
        assert int(response.headers["retry-after"]) >= 1
        error = error_of(response)
        assert error["code"] == "TooManyRequests"
        assert error["message"].startswith(message)
        assert re.search(r"Try again in \d+ seconds\.$", error["message"])

    async def test_eleventh_login_for_one_username_is_429(self, client: httpx.AsyncClient, alice: int) -> None:
        for _ in range(limits.LOGIN_PER_USER.limit):
            assert (await try_login(client, password="not the password")).status_code == 401
        self.assert_limited(await try_login(client, "Alice"), limits.TOO_MANY_LOGINS)

    async def test_login_limit_is_per_username(self, client: httpx.AsyncClient, db: Database, alice: int) -> None:
        await make_user(db, "bob")
        for _ in range(limits.LOGIN_PER_USER.limit):
            assert (await try_login(client, password="not the password")).status_code == 401
        assert (await try_login(client, "bob")).status_code == 200

    async def test_sixth_registration_from_one_address_is_429(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        for n in range(limits.REGISTER_PER_IP.limit):
            assert (await register(client, f"user{n}", f"user{n}@example.org")).status_code == 201
        self.assert_limited(await register(client, "late", "late@example.org"), limits.TOO_MANY_REGISTRATIONS)
        assert await user_rows(db) == (5, 5)

    async def test_fourth_reset_request_for_one_target_is_429(
        self, client: httpx.AsyncClient, alice: int, outbox: Outbox
    ) -> None:
        for _ in range(limits.RESET_PER_TARGET.limit):
            response = await client.post("/api/account/password/reset-request", json={"username_or_email": "alice"})
            assert response.status_code == 202
        late = await client.post("/api/account/password/reset-request", json={"username_or_email": " ALICE "})
        self.assert_limited(late, limits.TOO_MANY_RESETS)
        assert len(await outbox.messages()) == limits.RESET_PER_TARGET.limit


# The OpenAPI document


class TestOpenApi:
    @pytest.fixture
    def document(self, settings: ServeSettings) -> dict:
        return create_accounts_app(settings).openapi()

    def test_every_route_is_documented(self, document: dict) -> None:
        expected = {
            (route.path, method.lower())
            for module in (account, twofactor, tokens, roles, publishing, audit)
            for route in module.router.routes
            for method in route.methods  # type: ignore[attr-defined]
        }
        documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
        assert expected <= documented
        assert {path for path, _ in expected if path.startswith("/_/oidc")} == {"/_/oidc/audience",
                                                                                 "/_/oidc/mint-token"}
        assert all(path.startswith(("/api/account", "/_/oidc")) for path in document["paths"])

    def test_every_post_body_has_examples(self, document: dict) -> None:
        schemas = document["components"]["schemas"]
        checked = 0
        for path, operations in document["paths"].items():
            body = operations.get("post", {}).get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            target = schemas[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
            assert target.get("examples"), f"POST {path}: the request body has no examples"
            checked += 1
        assert checked >= 15
