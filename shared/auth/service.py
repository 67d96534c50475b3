"""Who is calling, and may they do this?  Every service asks here (no service owns it).

Upload authorisation (UPL-3): HTTP Basic with username ``__token__`` and an API
token as password (what twine sends), or ``Authorization: Bearer <token>`` for
the JSON APIs.  Missing credentials → 401; bad, expired, revoked or
out-of-scope credentials → 403.

Every request reads the token's row, its user and (for a trusted publisher) its
publisher, so a revoked token, a deactivated user or a lost role fails on the
very next request on every replica; nothing is cached.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import macaroons
from shared.auth.tokens import hash_token_secret, looks_like_token
from shared.db import Database
from shared.errors import ForbiddenError, NotAuthenticatedError
from shared.schema import ApiToken, Email, OidcPublisher, Role, User

TOKEN_USERNAME = "__token__"
OWNER = "Owner"
MAINTAINER = "Maintainer"
# ``last_used`` is a hint for the token list, not an access log: it is written at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int | None  # None for a trusted publisher's token
    username: str  # for a trusted publisher: a description such as "github:octo-org/sampleproject"
    token_id: str
    token_projects: frozenset[str] | None  # normalised names the token is limited to; None = any
    is_superuser: bool = False  # an index administrator
    publisher_id: int | None = None
    two_factor: bool = False
    email_verified: bool = False
    last_used: datetime | None = None

    @property
    def is_publisher(self) -> bool:
        return self.publisher_id is not None

    def check_token_scope(self, project_name: str) -> None:
        if self.token_projects is not None and project_name not in self.token_projects:
            allowed = ", ".join(sorted(self.token_projects)) or "no project"
            raise ForbiddenError(
                f"This API token is scoped to {allowed} "
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


_INVALID = "Invalid or non-existent API token; check the token or create a new one."


async def authenticate_token(
    session: AsyncSession, secret: str, *, keys: Sequence[bytes], now: datetime | None = None
) -> Identity:
    """Resolve a token to an identity; raise 403 when it is not usable.

    ``keys`` are the suite's secret keys (current first): a macaroon-like token's
    signature is checked against the root key derived from each.
    """
    now = now or datetime.now(UTC)
    if macaroons.looks_like_macaroon(secret):
        token, scope = await _verify_macaroon(session, secret, keys=keys, now=now)
    elif looks_like_token(secret):  # the first, opaque format: only its hash is stored
        token = await session.scalar(select(ApiToken).where(ApiToken.secret_hash == hash_token_secret(secret)))
        scope = None
    else:
        raise ForbiddenError(_INVALID)
    if token is None:
        raise ForbiddenError(_INVALID)
    _check_token_usable(token, now=now)
    projects = _intersect(frozenset(token.projects) if token.projects is not None else None, scope)
    if token.publisher_id is not None:
        return await _publisher_identity(session, token, projects=projects)
    return await _user_identity(session, token, projects=projects)


async def _verify_macaroon(
    session: AsyncSession, secret: str, *, keys: Sequence[bytes], now: datetime
) -> tuple[ApiToken | None, frozenset[str] | None]:
    try:
        macaroon = macaroons.decode(secret)
    except macaroons.MalformedTokenError as exc:
        raise ForbiddenError(_INVALID) from exc
    token = await session.get(ApiToken, macaroon.id)
    if token is None or not any(
        macaroons.verify_signature(macaroon, macaroons.derive_root_key(key, macaroon.id)) for key in keys
    ):
        raise ForbiddenError(_INVALID)
    try:
        limits = macaroons.restrictions(macaroon.caveats)
    except macaroons.CaveatError as exc:
        raise ForbiddenError(f"This API token carries a caveat that cannot be honoured: {exc}") from exc
    if limits.expires_at is not None and limits.expires_at <= now:
        raise ForbiddenError("This API token has expired (a caveat on it says so); create a new one.")
    if limits.not_before is not None and limits.not_before > now:
        raise ForbiddenError(f"This API token is not valid before {limits.not_before.isoformat()}.")
    return token, limits.projects


def _intersect(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    return a if b is None else a & b


def _check_token_usable(token: ApiToken, *, now: datetime) -> None:
    if token.revoked_at is not None:
        raise ForbiddenError("This API token has been revoked; create a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        raise ForbiddenError("This API token has expired; create a new one.")


async def _user_identity(session: AsyncSession, token: ApiToken, *, projects: frozenset[str] | None) -> Identity:
    user = await session.get(User, token.user_id)
    if user is None:
        raise ForbiddenError(_INVALID)
    if not user.is_active:
        raise ForbiddenError(f"User {user.username!r} is deactivated.")
    verified = await session.scalar(select(exists().where(Email.user_id == user.id, Email.verified.is_(True))))
    return Identity(
        user_id=user.id, username=user.username, token_id=token.id, token_projects=projects,
        is_superuser=user.is_superuser, two_factor=user.totp_enabled, email_verified=bool(verified),
        last_used=token.last_used,
    )


async def _publisher_identity(
    session: AsyncSession, token: ApiToken, *, projects: frozenset[str] | None
) -> Identity:
    publisher = await session.get(OidcPublisher, token.publisher_id)
    if publisher is None or publisher.project_id is None:
        raise ForbiddenError("The trusted publisher this token was minted for no longer exists.")
    return Identity(
        user_id=None, username=publisher_label(publisher), token_id=token.id,
        token_projects=projects if projects is not None else frozenset(), publisher_id=publisher.id,
        last_used=token.last_used,
    )


def publisher_label(publisher: OidcPublisher) -> str:
    return f"trusted publisher {publisher.kind}:{publisher.owner}/{publisher.repository}"


async def record_token_use(db: Database, identity: Identity, *, now: datetime | None = None) -> None:
    """Move ``last_used`` forward, at most once per ``LAST_USED_RESOLUTION`` per token.

    The stale check uses the value already read during authentication, so a busy
    token costs no write per request; the write is its own short transaction, and
    on Postgres it skips a row another request is updating at this moment.
    """
    now = now or datetime.now(UTC)
    if identity.last_used is not None and now - identity.last_used < LAST_USED_RESOLUTION:
        return
    unlocked = (
        select(ApiToken.id).where(ApiToken.id == identity.token_id).with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with db.write_session() as session:
        await session.execute(update(ApiToken).where(ApiToken.id == unlocked).values(last_used=now))
        await session.commit()


def check_upload_policy(identity: Identity, *, require_2fa: bool, require_verified_email: bool) -> None:
    """The index's upload policy for people (trusted publishers are exempt: CI has no second factor)."""
    if identity.is_publisher:
        return
    if require_verified_email and not identity.email_verified:
        raise ForbiddenError(
            f"User {identity.username!r} cannot upload until an email address is verified: "
            "follow the link in the verification email, or ask for a new one with "
            "POST /api/account/email/verification."
        )
    if require_2fa and not identity.two_factor:
        raise ForbiddenError(
            f"User {identity.username!r} cannot upload until two-factor authentication is enabled: "
            "enrol a TOTP app with POST /api/account/2fa/totp."
        )


async def find_role(session: AsyncSession, *, user_id: int, project_id: int) -> Role | None:
    return await session.scalar(select(Role).where(Role.user_id == user_id, Role.project_id == project_id))


async def get_role(session: AsyncSession, *, user_id: int, project_id: int) -> str | None:
    role = await find_role(session, user_id=user_id, project_id=project_id)
    return role.role_name if role is not None else None


async def require_user_role(
    session: AsyncSession, *, user_id: int, project_id: int, project_name: str, roles: tuple[str, ...]
) -> Role:
    """The role a signed-in user (not a token) holds on a project, if it is one of ``roles``; else 403.

    Someone with no role learns nothing more than that the project is not theirs.
    """
    role = await find_role(session, user_id=user_id, project_id=project_id)
    if role is None:
        raise ForbiddenError(f"You have no role on project {project_name!r}.")
    if role.role_name not in roles:
        needed = " or ".join(r.lower() + "s" for r in roles)
        raise ForbiddenError(f"Only {needed} of {project_name!r} can do this; you are a {role.role_name.lower()}.")
    return role


async def require_role(
    session: AsyncSession, identity: Identity, *, project_id: int, project_name: str, roles: tuple[str, ...]
) -> str:
    """Raise 403 unless the identity holds one of ``roles`` on the project (and the token covers it).

    A trusted publisher holds no role: it may do what a maintainer may (upload) to the
    project it is registered for, and nothing an owner alone may do.
    """
    identity.check_token_scope(project_name)
    if identity.publisher_id is not None:
        return await _require_publisher(session, identity, project_id=project_id, project_name=project_name,
                                        roles=roles)
    role = await get_role(session, user_id=identity.user_id, project_id=project_id) if identity.user_id else None
    if role not in roles:
        needed = " or ".join(r.lower() for r in roles)
        raise ForbiddenError(
            f"User {identity.username!r} is not allowed to do this on project {project_name!r}: "
            f"it needs the {needed} role."
        )
    return role


async def _require_publisher(
    session: AsyncSession, identity: Identity, *, project_id: int, project_name: str, roles: tuple[str, ...]
) -> str:
    registered = await session.scalar(
        select(OidcPublisher.id).where(OidcPublisher.id == identity.publisher_id,
                                       OidcPublisher.project_id == project_id)
    )
    if registered is None or MAINTAINER not in roles:
        raise ForbiddenError(
            f"A token minted for a trusted publisher can only upload to {project_name!r}; "
            "managing the project needs an owner's own token."
        )
    return MAINTAINER
