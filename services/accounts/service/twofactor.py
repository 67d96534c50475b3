"""Two-factor authentication: TOTP enrolment and checks, recovery codes.

A TOTP code is accepted for its own 30-second step and one step either side,
once: the step of every accepted code is recorded, and no code of that step or
an earlier one is accepted again (the update that records it is atomic, so two
concurrent requests cannot both use one code).  Recovery codes are shown once,
stored as SHA-256 hashes and burned on use.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.accounts.errors import InvalidTwoFactorCodeError, TwoFactorRequiredError, TwoFactorStateError
from services.accounts.repository import AccountsRepository
from services.accounts.service import messages
from services.accounts.service.context import AccountsContext
from services.accounts.service.users import require_user_id
from shared.audit import record_audit
from shared.auth import totp
from shared.db import WriteSession
from shared.schema import RecoveryCode, User

ISSUER = "Wheelhouse"


async def begin_totp(session: WriteSession, *, user_id: int, ctx: AccountsContext) -> tuple[str, str]:
    """Start (or restart) enrolment: a new secret, not used until confirmed with a code from it."""
    user = await require_user_id(session, user_id)
    if user.totp_enabled:
        raise TwoFactorStateError("Two-factor authentication is already enabled; disable it first to re-enrol.")
    user.totp_secret = totp.new_secret()
    user.totp_last_step = None
    issuer = ctx.settings.public_url or ISSUER
    return user.totp_secret, totp.provisioning_uri(user.totp_secret, account=user.username, issuer=_issuer(issuer))


def _issuer(text: str) -> str:
    return text.split("://", 1)[-1].rstrip("/") or ISSUER


async def confirm_totp(
    session: WriteSession, *, user_id: int, code: str, ctx: AccountsContext, now: datetime | None = None
) -> list[str]:
    """Turn TOTP on with a first code from the app; return fresh recovery codes (shown once)."""
    user = await require_user_id(session, user_id)
    if user.totp_enabled:
        raise TwoFactorStateError("Two-factor authentication is already enabled; there is nothing to confirm.")
    if user.totp_secret is None:
        raise TwoFactorStateError("Start enrolment first with POST /api/account/2fa/totp.")
    await _check_totp(session, user, code, now=now or datetime.now(UTC))
    user.totp_enabled = True
    codes = await _replace_recovery_codes(session, user)
    await record_audit(session, "2fa:totp_enabled", actor_id=user.id, actor=user.username, user_id=user.id)
    await _tell(session, user, ctx=ctx, enabled=True)
    return codes


async def disable_totp(
    session: WriteSession, *, user_id: int, code: str | None, recovery_code: str | None, ctx: AccountsContext,
    now: datetime | None = None,
) -> None:
    user = await require_user_id(session, user_id)
    if not user.totp_enabled:
        raise TwoFactorStateError("Two-factor authentication is not enabled; turn it on first with "
                                  "POST /api/account/2fa/totp.")
    await check_second_factor(session, user, code=code, recovery_code=recovery_code, now=now)
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    await AccountsRepository(session).delete_recovery_codes(user.id)
    await record_audit(session, "2fa:totp_disabled", actor_id=user.id, actor=user.username, user_id=user.id)
    await _tell(session, user, ctx=ctx, enabled=False)


async def regenerate_recovery_codes(
    session: WriteSession, *, user_id: int, code: str, now: datetime | None = None
) -> list[str]:
    user = await require_user_id(session, user_id)
    if not user.totp_enabled:
        raise TwoFactorStateError("Two-factor authentication is not enabled; turn it on first with "
                                  "POST /api/account/2fa/totp.")
    await _check_totp(session, user, code, now=now or datetime.now(UTC))
    codes = await _replace_recovery_codes(session, user)
    await record_audit(session, "2fa:recovery_codes_regenerated", actor_id=user.id, actor=user.username,
                       user_id=user.id)
    return codes


async def check_second_factor(
    session: WriteSession, user: User, *, code: str | None, recovery_code: str | None, now: datetime | None = None
) -> None:
    """For a user with TOTP on: accept a fresh TOTP code or an unused recovery code, else raise 401."""
    if not user.totp_enabled:
        return
    if code:
        await _check_totp(session, user, code, now=now or datetime.now(UTC))
    elif recovery_code:
        await _burn_recovery_code(session, user, recovery_code, now=now or datetime.now(UTC))
    else:
        raise TwoFactorRequiredError(
            "This account uses two-factor authentication: send totp_code (from the authenticator app) "
            "or a recovery_code with the password."
        )


async def _check_totp(session: WriteSession, user: User, code: str, *, now: datetime) -> None:
    step = totp.matching_step(user.totp_secret or "", code, now=now) if user.totp_secret else None
    if step is None or not await AccountsRepository(session).claim_totp_step(user.id, step):
        raise InvalidTwoFactorCodeError(
            "The two-factor code is wrong, expired or already used; wait for the next code and try again."
        )


async def _burn_recovery_code(session: WriteSession, user: User, code: str, *, now: datetime) -> None:
    digest = totp.hash_recovery_code(code)
    if not await AccountsRepository(session).burn_recovery_code(user.id, digest, now=now):
        raise InvalidTwoFactorCodeError("The recovery code is wrong or has already been used; use another of "
                                        "your recovery codes, or a code from the authenticator app.")
    await record_audit(session, "2fa:recovery_code_used", actor_id=user.id, actor=user.username, user_id=user.id)


async def _replace_recovery_codes(session: WriteSession, user: User) -> list[str]:
    repo = AccountsRepository(session)
    await repo.delete_recovery_codes(user.id)
    codes = totp.new_recovery_codes()
    for code in codes:
        await repo.add(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(code)))
    return codes


async def _tell(session: WriteSession, user: User, *, ctx: AccountsContext, enabled: bool) -> None:
    email = await AccountsRepository(session).primary_email(user.id)
    if email is not None:
        ctx.notifier.send(messages.two_factor_changed(to=email.email, username=user.username, enabled=enabled))
