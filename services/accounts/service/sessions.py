"""Login sessions for the account API: short-lived bearer tokens, stored as SHA-256 hashes."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.accounts.errors import ApiTokenNotAllowedError, InvalidCredentialsError, SessionRequiredError
from services.accounts.repository import AccountsRepository
from services.accounts.service.context import AccountsContext
from services.accounts.service.twofactor import check_second_factor
from shared.audit import client_ip, record_audit
from shared.auth.passwords import verify_password_or_waste_time
from shared.auth.tokens import TOKEN_PREFIX
from shared.db import ReadSession, WriteSession
from shared.schema import UserSession

SESSION_PREFIX = "whs-"
_WRONG = ("Wrong username or password. Check both and try again, or ask for a reset link with "
          "POST /api/account/password/reset-request.")


@dataclass(frozen=True)
class NewSession:
    id: str
    token: str  # shown once
    expires_at: datetime
    user_id: int
    username: str


@dataclass(frozen=True)
class Account:
    """The person behind an account-API request."""

    user_id: int
    username: str
    session_id: str
    is_superuser: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def login(
    session: WriteSession, *, username: str, password: str, totp_code: str | None = None,
    recovery_code: str | None = None, ctx: AccountsContext, now: datetime | None = None,
    read: ReadSession | None = None,
) -> NewSession:
    """Password, then the second factor when the account has one; one answer for every wrong password.

    With ``read``, the password is checked on the read handle, so the half second of argon2 is
    not spent inside the write transaction (on SQLite that would hold the one write lock).
    """
    now = now or datetime.now(UTC)
    user_id = await _check_password(read if read is not None else session, username=username, password=password)
    repo = AccountsRepository(session)
    user = await repo.get_user_by_id(user_id)
    if user is None or not user.is_active:
        raise InvalidCredentialsError(_WRONG)
    await check_second_factor(session, user, code=totp_code, recovery_code=recovery_code, now=now)
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    row = UserSession(id=secrets.token_hex(16), user_id=user.id, secret_hash=_digest(secret),
                      expires_at=now + timedelta(seconds=ctx.settings.session_ttl), ip=client_ip.get(), created=now)
    await repo.add(row)
    user.last_login = now
    await repo.delete_expired_sessions(now)
    await record_audit(session, "account:login", actor_id=user.id, actor=user.username, user_id=user.id,
                       details={"two_factor": user.totp_enabled})
    return NewSession(id=row.id, token=secret, expires_at=row.expires_at, user_id=user.id, username=user.username)


async def _check_password(session: ReadSession | WriteSession, *, username: str, password: str) -> int:
    user = await AccountsRepository(session).get_user(username.strip().lower())
    password_hash = user.password_hash if user is not None else None
    # argon2 runs in a worker thread: on the event loop it would stall every other request.
    matches = await asyncio.to_thread(verify_password_or_waste_time, password_hash, password)
    if not matches or user is None or not user.is_active:
        raise InvalidCredentialsError(_WRONG)
    return user.id


async def authenticate_session(session: ReadSession, secret: str, *, now: datetime | None = None) -> Account:
    if secret.startswith(TOKEN_PREFIX):
        raise ApiTokenNotAllowedError(
            "API tokens cannot manage the account. Log in with POST /api/account/login "
            "and send the session token it returns."
        )
    if not secret.startswith(SESSION_PREFIX) or len(secret) > 100:
        raise SessionRequiredError("Send a session token from POST /api/account/login as 'Authorization: Bearer …'.")
    found = await AccountsRepository(session).get_session_by_hash(_digest(secret))
    if found is None:
        raise SessionRequiredError("This session has ended; log in again.")
    row, user = found
    if row.expires_at <= (now or datetime.now(UTC)) or not user.is_active:
        raise SessionRequiredError("This session has ended; log in again.")
    return Account(user_id=user.id, username=user.username, session_id=row.id, is_superuser=user.is_superuser)


async def logout(session: WriteSession, *, account: Account) -> None:
    row = await session.get(UserSession, account.session_id)
    if row is not None:
        await AccountsRepository(session).delete(row)
