"""API tokens: created, listed (never the secret), revoked.

Tokens are macaroon-like (shared/auth/macaroons.py): the secret a user gets
carries the token id and caveats signed with a root key derived from the
suite's secret key, and the server stores no secret at all.  A holder can add
caveats (narrow a token to fewer projects or a shorter life) without asking the
server; the server also keeps the scope and expiry it issued on the row.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.accounts.errors import InvalidTokenRequestError, NotAllowedError, TokenNotFoundError
from services.accounts.repository import AccountsRepository
from services.accounts.service.sessions import Account
from services.accounts.service.users import require_user
from shared.audit import record_audit
from shared.auth import macaroons
from shared.auth.tokens import hash_token_secret, looks_like_token
from shared.db import WriteSession
from shared.names import is_valid_name, normalize_name
from shared.schema import ApiToken

MAX_TOKEN_NAME = 100
_TOKEN_ID_RE = re.compile(r"^[0-9a-f]{32}\Z")  # secrets.token_hex(16)


@dataclass(frozen=True)
class CreatedToken:
    id: str
    secret: str  # shown once, never stored
    expires_at: datetime | None
    projects: list[str] | None
    name: str
    created: datetime


def _scope(projects: Sequence[str] | None) -> list[str] | None:
    if not projects:
        return None
    for project in projects:
        if not is_valid_name(project):
            raise InvalidTokenRequestError(f"Invalid project name {project!r} in the token scope.")
    return sorted({normalize_name(p) for p in projects})


async def create_token(
    session: WriteSession, username: str, *, keys: Sequence[bytes], name: str = "",
    projects: Sequence[str] | None = None, expires_in: timedelta | None = None, now: datetime | None = None,
) -> CreatedToken:
    """Create a token for a user (the CLI's way: no role check on the scope)."""
    user = await require_user(session, username)
    return await _issue(session, user_id=user.id, keys=keys, name=name, scope=_scope(projects),
                        expires_in=expires_in, now=now or datetime.now(UTC))


async def _issue(
    session: WriteSession, *, user_id: int | None, keys: Sequence[bytes], name: str, scope: list[str] | None,
    expires_in: timedelta | None, now: datetime, publisher_id: int | None = None,
) -> CreatedToken:
    if len(name) > MAX_TOKEN_NAME:
        raise InvalidTokenRequestError(f"Token names are at most {MAX_TOKEN_NAME} characters long.")
    expires_at = now + expires_in if expires_in else None
    token = ApiToken(id=secrets.token_hex(16), user_id=user_id, publisher_id=publisher_id, name=name,
                     projects=scope, expires_at=expires_at, created=now)
    await AccountsRepository(session).add(token)
    caveats: list[dict] = []
    if scope is not None:
        caveats.append({"projects": scope})
    if expires_at is not None:
        caveats.append({"exp": int(expires_at.timestamp())})
    secret = macaroons.mint(macaroons.derive_root_key(keys[0], token.id), token.id, caveats)
    return CreatedToken(id=token.id, secret=secret, expires_at=expires_at, projects=scope, name=name, created=now)


async def issue_publisher_token(
    session: WriteSession, *, publisher_id: int, project: str, keys: Sequence[bytes], lifetime: timedelta,
    now: datetime | None = None,
) -> CreatedToken:
    """A short-lived upload token for a trusted publisher, scoped to its one project."""
    return await _issue(session, user_id=None, publisher_id=publisher_id, keys=keys, name="trusted publishing",
                        scope=[project], expires_in=lifetime, now=now or datetime.now(UTC))


async def create_token_for(
    session: WriteSession, *, account: Account, keys: Sequence[bytes], name: str,
    projects: Sequence[str] | None, expires_in: timedelta | None,
) -> CreatedToken:
    """Create a token through the API: a project scope needs a role on each project named."""
    scope = _scope(projects)
    repo = AccountsRepository(session)
    for project_name in scope or []:
        project = await repo.get_project(project_name)
        if project is None or await repo.role_of(account.user_id, project.id) is None:
            raise NotAllowedError(
                f"You have no role on a project named {project_name!r}; a token can only be scoped to "
                "projects you own or maintain (use an unscoped token for a project's first upload)."
            )
    created = await _issue(session, user_id=account.user_id, keys=keys, name=name, scope=scope,
                           expires_in=expires_in, now=datetime.now(UTC))
    await record_audit(session, "token:created", actor_id=account.user_id, actor=account.username,
                       user_id=account.user_id, details={"token_id": created.id, "name": name, "projects": scope})
    return created


async def revoke_token(session: WriteSession, token: str, *, now: datetime | None = None) -> ApiToken:
    """Revoke by public id or by the secret itself (the CLI's way); revoking twice is harmless."""
    repo = AccountsRepository(session)
    found = await _find(repo, token)
    if found is None:
        raise TokenNotFoundError("No such API token.")
    if found.revoked_at is None:
        found.revoked_at = now or datetime.now(UTC)
    return found


async def _find(repo: AccountsRepository, token: str) -> ApiToken | None:
    if macaroons.looks_like_macaroon(token):
        try:
            return await repo.get_token(macaroons.decode(token).id)
        except macaroons.MalformedTokenError:
            return None
    if looks_like_token(token):
        return await repo.get_token_by_hash(hash_token_secret(token))
    return await repo.get_token(token)


async def revoke_token_of(session: WriteSession, *, account: Account, token_id: str) -> None:
    """Revoke one of the caller's own tokens; another user's token id answers 404, as an unknown one does."""
    # Only a well-formed id reaches the database (Postgres refuses text with NUL in it).
    token = await AccountsRepository(session).get_token(token_id) if _TOKEN_ID_RE.match(token_id) else None
    if token is None or token.user_id != account.user_id:
        raise TokenNotFoundError(f"You have no API token with id {token_id!r}.")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        await record_audit(session, "token:revoked", actor_id=account.user_id, actor=account.username,
                           user_id=account.user_id, details={"token_id": token.id, "name": token.name})


async def list_tokens(session: WriteSession, username: str) -> list[ApiToken]:
    user = await require_user(session, username)
    return await AccountsRepository(session).tokens_of(user.id)


async def tokens_of(session: WriteSession, *, account: Account) -> list[ApiToken]:
    return await AccountsRepository(session).tokens_of(account.user_id)
