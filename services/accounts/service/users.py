"""Users: registration, email verification, passwords, deactivation."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from services.accounts.errors import (
    InvalidCredentialsError,
    InvalidEmailError,
    InvalidLinkError,
    InvalidPasswordError,
    InvalidUsernameError,
    UserExistsError,
    UserNotFoundError,
)
from services.accounts.repository import AccountsRepository
from services.accounts.service import messages
from services.accounts.service.context import AccountsContext
from shared.audit import record_audit
from shared.auth import signing
from shared.auth.passwords import hash_password, verify_password
from shared.db import WriteSession
from shared.names import is_valid_name
from shared.schema import Email, User

USERNAME_MAX = 50
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
VERIFY_PURPOSE = "email-verify"
RESET_PURPOSE = "password-reset"


def check_username(username: str) -> str:
    """The public index's rules: ASCII letters, digits, '.', '_', '-', alphanumeric at both ends."""
    if not is_valid_name(username) or len(username) > USERNAME_MAX:
        raise InvalidUsernameError(
            f"Invalid username {username!r}: use 1–{USERNAME_MAX} ASCII letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return username.lower()


def check_email(email: str) -> str:
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidEmailError(f"Invalid email address {email!r}: give an address such as name@example.org.")
    return email.lower()


async def _hash(password: str) -> str:
    # argon2 costs about half a second of CPU: off the event loop (STYLE: CPU work goes through to_thread).
    try:
        return await asyncio.to_thread(hash_password, password)
    except ValueError as exc:
        raise InvalidPasswordError(str(exc)) from exc


async def _password_matches(user: User, password: str) -> bool:
    return await asyncio.to_thread(verify_password, user.password_hash, password)


async def create_user(
    session: WriteSession, username: str, *, email: str, password: str, is_superuser: bool = False,
    email_verified: bool = False,
) -> User:
    repo = AccountsRepository(session)
    normalized = check_username(username)
    address = check_email(email)
    password_hash = await _hash(password)  # before the first query: not inside the write transaction
    await _check_free(repo, username=username, normalized=normalized, email=email, address=address)
    try:
        async with session.begin_nested():
            user = User(username=username, normalized_username=normalized, password_hash=password_hash,
                        is_active=True, is_superuser=is_superuser, totp_enabled=False)
            await repo.add(user)
            await repo.add(Email(user_id=user.id, email=address, verified=email_verified, primary=True))
    except IntegrityError:
        # A concurrent registration took the name or the address after the check: say which.
        await _check_free(repo, username=username, normalized=normalized, email=email, address=address)
        raise
    return user


async def _check_free(repo: AccountsRepository, *, username: str, normalized: str, email: str, address: str) -> None:
    if await repo.get_user(normalized) is not None:
        raise UserExistsError(f"User {username!r} already exists; choose another username.")
    if await repo.email_taken(address):
        raise UserExistsError(f"Email address {email!r} is already in use; register with another address, "
                              "or reset the password of the account that has it.")


async def require_user(session: WriteSession, username: str) -> User:
    user = await AccountsRepository(session).get_user(username.lower())
    if user is None:
        raise UserNotFoundError(f"No user named {username!r}.")
    return user


async def require_user_id(session: WriteSession, user_id: int) -> User:
    user = await AccountsRepository(session).get_user_by_id(user_id)
    if user is None or not user.is_active:
        raise UserNotFoundError("This account no longer exists or is deactivated.")
    return user


async def set_password(session: WriteSession, username: str, *, password: str, now: datetime | None = None) -> None:
    """Set a password (the CLI's way); every login session of the user ends."""
    user = await require_user(session, username)
    await _replace_password(session, user, password=password, now=now or datetime.now(UTC))


async def _replace_password(session: WriteSession, user: User, *, password: str, now: datetime) -> None:
    user.password_hash = await _hash(password)
    user.password_changed_at = now
    await AccountsRepository(session).delete_sessions(user.id)


async def deactivate_user(session: WriteSession, username: str, *, actor: str | None = None) -> User:
    """Deactivate (the CLI's way and the API's): its sessions end; its tokens stop working at once."""
    user = await require_user(session, username)
    await _deactivate(session, user, actor_id=None, actor=actor or "administrator")
    return user


async def _deactivate(session: WriteSession, user: User, *, actor_id: int | None, actor: str) -> None:
    user.is_active = False
    await AccountsRepository(session).delete_sessions(user.id)
    await record_audit(session, "account:deactivated", actor_id=actor_id, actor=actor, user_id=user.id)


async def register(
    session: WriteSession, *, username: str, email: str, password: str, ctx: AccountsContext, base_url: str
) -> User:
    user = await create_user(session, username, email=email, password=password)
    await record_audit(session, "account:created", actor_id=user.id, actor=user.username, user_id=user.id)
    await send_verification(session, user, ctx=ctx, base_url=base_url)
    return user


async def send_verification(session: WriteSession, user: User, *, ctx: AccountsContext, base_url: str) -> Email:
    email = await AccountsRepository(session).primary_email(user.id)
    if email is None:
        raise InvalidEmailError("This account has no email address to verify.")
    token = signing.sign(ctx.signing_key, purpose=VERIFY_PURPOSE, payload={"e": email.id, "a": email.email})
    link = ctx.link(base_url, f"/api/account/email/verify?token={token}")
    hours = ctx.settings.email_verification_ttl // 3600 or 1
    ctx.notifier.send(messages.verify_email(to=email.email, username=user.username, link=link, hours=hours))
    return email


async def verify_email(session: WriteSession, *, token: str, ctx: AccountsContext) -> Email:
    payload = _unsign(ctx, purpose=VERIFY_PURPOSE, token=token, ttl=ctx.settings.email_verification_ttl)
    email = await AccountsRepository(session).get_email(int(payload.get("e", 0)))
    if email is None or email.email != payload.get("a"):
        raise InvalidLinkError("This verification link is not valid for any address; ask for a new one.")
    if not email.verified:
        email.verified = True
        await record_audit(session, "email:verified", actor_id=email.user_id, actor=None, user_id=email.user_id,
                           details={"email": email.email})
    return email


def _unsign(ctx: AccountsContext, *, purpose: str, token: str, ttl: int) -> dict:
    try:
        return signing.unsign(ctx.keys, purpose=purpose, value=token, max_age=timedelta(seconds=ttl))
    except signing.SignatureExpiredError as exc:
        raise InvalidLinkError("This link has expired; ask for a new one.") from exc
    except signing.BadSignatureError as exc:
        raise InvalidLinkError("This link is not valid; copy the whole link from the email.") from exc


async def change_password(
    session: WriteSession, *, user_id: int, current_password: str, new_password: str, ctx: AccountsContext,
    now: datetime | None = None,
) -> None:
    user = await require_user_id(session, user_id)
    if not await _password_matches(user, current_password):
        raise InvalidCredentialsError("The current password is wrong; send the password you log in with "
                                      "as current_password.")
    await _replace_password(session, user, password=new_password, now=now or datetime.now(UTC))
    await record_audit(session, "password:changed", actor_id=user.id, actor=user.username, user_id=user.id)
    await _tell_password_changed(session, user, ctx=ctx)


async def _tell_password_changed(session: WriteSession, user: User, *, ctx: AccountsContext) -> None:
    email = await AccountsRepository(session).primary_email(user.id)
    if email is not None:
        ctx.notifier.send(messages.password_changed(to=email.email, username=user.username))


async def request_password_reset(
    session: WriteSession, *, identifier: str, ctx: AccountsContext, base_url: str
) -> None:
    """Email a reset link to the account named by username or address; say nothing either way."""
    repo = AccountsRepository(session)
    text = identifier.strip().lower()
    user = await (repo.get_user_by_email(text) if "@" in text else repo.get_user(text))
    if user is None or not user.is_active:
        return
    email = await repo.primary_email(user.id)
    if email is None:
        return
    token = signing.sign(ctx.signing_key, purpose=RESET_PURPOSE, payload=_reset_payload(user))
    hours = ctx.settings.password_reset_ttl // 3600 or 1
    link = ctx.link(base_url, "/api/account/password/reset")
    ctx.notifier.send(messages.password_reset(to=email.email, username=user.username, link=link, token=token,
                                              hours=hours))


def _reset_payload(user: User) -> dict[str, int]:
    # A link stops working once the password changes: it is bound to the time of the last change.
    changed = user.password_changed_at or user.created
    return {"u": user.id, "c": int(changed.timestamp() * 1000)}


async def reset_password(
    session: WriteSession, *, token: str, new_password: str, ctx: AccountsContext, now: datetime | None = None
) -> User:
    payload = _unsign(ctx, purpose=RESET_PURPOSE, token=token, ttl=ctx.settings.password_reset_ttl)
    # The row stays locked until commit, so two requests racing with one link cannot both see the old
    # password: the second waits, then finds the link used (SQLite's writers are serialised anyway).
    user = await session.get(User, int(payload.get("u", 0)), with_for_update=True)
    if user is None or not user.is_active or _reset_payload(user) != payload:
        raise InvalidLinkError("This reset link has already been used or is not valid; ask for a new one.")
    await _replace_password(session, user, password=new_password, now=now or datetime.now(UTC))
    await record_audit(session, "password:reset", actor_id=user.id, actor=user.username, user_id=user.id)
    await _tell_password_changed(session, user, ctx=ctx)
    return user


async def deactivate_self(session: WriteSession, *, user_id: int, password: str) -> None:
    user = await require_user_id(session, user_id)
    if not await _password_matches(user, password):
        raise InvalidCredentialsError("The password is wrong; send the password you log in with to confirm.")
    await _deactivate(session, user, actor_id=user.id, actor=user.username)


async def profile(session: WriteSession, *, user_id: int) -> tuple[User, list[Email]]:
    user = await require_user_id(session, user_id)
    return user, await AccountsRepository(session).emails_of(user.id)
