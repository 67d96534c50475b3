"""Who is calling, and may they do this?  Every service asks here (no service owns it).

Upload authorisation (UPL-3): HTTP Basic with username ``__token__`` and an API
token as password (what twine sends), or ``Authorization: Bearer <token>`` for
the JSON APIs.  Missing credentials → 401; bad, expired, revoked or
out-of-scope credentials → 403.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.tokens import hash_token_secret, looks_like_token
from shared.errors import ForbiddenError, NotAuthenticatedError
from shared.schema import ApiToken, Role, User

TOKEN_USERNAME = "__token__"
OWNER = "Owner"
MAINTAINER = "Maintainer"


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    username: str
    token_id: str
    token_projects: frozenset[str] | None  # normalised names the token is limited to; None = any
    is_superuser: bool = False  # an index administrator

    def check_token_scope(self, project_name: str) -> None:
        if self.token_projects is not None and project_name not in self.token_projects:
            raise ForbiddenError(
                f"This API token is scoped to {', '.join(sorted(self.token_projects))} "
                f"and cannot be used for project {project_name!r}; create a token for that project."
            )


def token_from_authorization(header: str | None) -> str:
    """Extract the token secret from an ``Authorization`` header, or raise 401/403."""
    if not header:
        raise NotAuthenticatedError("Authentication required: send an API token (username __token__).")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme in ("bearer", "token"):
        return value.strip()
    if scheme != "basic":
        raise NotAuthenticatedError(f"Unsupported authorization scheme {scheme!r}; use Basic or Bearer.")
    try:
        username, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise NotAuthenticatedError("Malformed Basic authorization header.") from exc
    if username != TOKEN_USERNAME:
        raise ForbiddenError(
            "Username/password authentication is not supported for uploads. "
            f"Use an API token: username {TOKEN_USERNAME!r}, password 'pypi-…'."
        )
    return password


async def authenticate_token(session: AsyncSession, secret: str, *, now: datetime | None = None) -> Identity:
    """Resolve a token secret to an identity; raise 403 when it is not usable."""
    invalid = ForbiddenError("Invalid or non-existent API token; check the token or create a new one.")
    if not looks_like_token(secret):
        raise invalid
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.secret_hash == hash_token_secret(secret))
        )
    ).first()
    if row is None:
        raise invalid
    token, user = row
    _check_token_usable(token, user, now=now or datetime.now(UTC))
    projects = frozenset(token.projects) if token.projects is not None else None
    return Identity(user_id=user.id, username=user.username, token_id=token.id, token_projects=projects,
                    is_superuser=user.is_superuser)


def _check_token_usable(token: ApiToken, user: User, *, now: datetime) -> None:
    if token.revoked_at is not None:
        raise ForbiddenError("This API token has been revoked; create a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        raise ForbiddenError("This API token has expired; create a new one.")
    if not user.is_active:
        raise ForbiddenError(f"User {user.username!r} is deactivated.")


async def get_role(session: AsyncSession, *, user_id: int, project_id: int) -> str | None:
    return await session.scalar(
        select(Role.role_name).where(Role.user_id == user_id, Role.project_id == project_id)
    )


async def require_role(
    session: AsyncSession, identity: Identity, *, project_id: int, project_name: str, roles: tuple[str, ...]
) -> str:
    """Raise 403 unless the identity holds one of ``roles`` on the project (and the token covers it)."""
    identity.check_token_scope(project_name)
    role = await get_role(session, user_id=identity.user_id, project_id=project_id)
    if role not in roles:
        needed = " or ".join(r.lower() for r in roles)
        raise ForbiddenError(
            f"User {identity.username!r} is not allowed to do this on project {project_name!r}: "
            f"it needs the {needed} role."
        )
    return role
