"""Users and API tokens: what the CLI (and later the accounts API) does."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.accounts.errors import (
    InvalidEmailError,
    InvalidPasswordError,
    InvalidTokenRequestError,
    InvalidUsernameError,
    TokenNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from services.accounts.repository import AccountsRepository
from shared.auth.passwords import hash_password
from shared.auth.tokens import hash_token_secret, looks_like_token, new_token_secret
from shared.db import WriteSession
from shared.names import is_valid_name, normalize_name
from shared.schema import ApiToken, Email, User

USERNAME_MAX = 50
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


@dataclass(frozen=True)
class CreatedToken:
    id: str
    secret: str  # shown once, never stored
    expires_at: datetime | None


def _check_username(username: str) -> str:
    if not is_valid_name(username) or len(username) > USERNAME_MAX:
        raise InvalidUsernameError(
            f"Invalid username {username!r}: use 1–{USERNAME_MAX} ASCII letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return username.lower()


def _check_email(email: str) -> str:
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidEmailError(f"Invalid email address {email!r}.")
    return email.lower()


async def create_user(
    session: WriteSession, username: str, *, email: str, password: str, is_superuser: bool = False
) -> User:
    repo = AccountsRepository(session)
    normalized = _check_username(username)
    address = _check_email(email)
    if await repo.get_user(normalized) is not None:
        raise UserExistsError(f"User {username!r} already exists.")
    if await repo.email_taken(address):
        raise UserExistsError(f"Email address {email!r} is already in use.")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise InvalidPasswordError(str(exc)) from exc
    user = User(username=username, normalized_username=normalized, password_hash=password_hash,
                is_active=True, is_superuser=is_superuser)
    await repo.add(user)
    await repo.add(Email(user_id=user.id, email=address, verified=False, primary=True))
    return user


async def require_user(session: WriteSession, username: str) -> User:
    user = await AccountsRepository(session).get_user(username.lower())
    if user is None:
        raise UserNotFoundError(f"No user named {username!r}.")
    return user


async def set_password(session: WriteSession, username: str, *, password: str) -> None:
    user = await require_user(session, username)
    try:
        user.password_hash = hash_password(password)
    except ValueError as exc:
        raise InvalidPasswordError(str(exc)) from exc


async def create_token(
    session: WriteSession, username: str, *, name: str = "", projects: list[str] | None = None,
    expires_in: timedelta | None = None, now: datetime | None = None,
) -> CreatedToken:
    user = await require_user(session, username)
    scope = sorted({normalize_name(p) for p in projects}) if projects else None
    for project in projects or []:
        if not is_valid_name(project):
            raise InvalidTokenRequestError(f"Invalid project name {project!r} in the token scope.")
    secret = new_token_secret()
    expires_at = (now or datetime.now(UTC)) + expires_in if expires_in else None
    token = ApiToken(id=secrets.token_hex(16), user_id=user.id, name=name, secret_hash=hash_token_secret(secret),
                     projects=scope, expires_at=expires_at)
    await AccountsRepository(session).add(token)
    return CreatedToken(id=token.id, secret=secret, expires_at=expires_at)


async def revoke_token(session: WriteSession, token: str, *, now: datetime | None = None) -> ApiToken:
    """Revoke by public id or by the secret itself; revoking twice is harmless."""
    repo = AccountsRepository(session)
    found = await (repo.get_token_by_hash(hash_token_secret(token)) if looks_like_token(token)
                   else repo.get_token(token))
    if found is None:
        raise TokenNotFoundError("No such API token.")
    if found.revoked_at is None:
        found.revoked_at = now or datetime.now(UTC)
    return found


async def list_tokens(session: WriteSession, username: str) -> list[ApiToken]:
    user = await require_user(session, username)
    return await AccountsRepository(session).tokens_of(user.id)
