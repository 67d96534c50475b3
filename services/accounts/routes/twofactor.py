"""TOTP enrolment and recovery codes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.accounts import limits
from services.accounts.deps import Ctx, CurrentAccount, Limiter, WriteDb
from services.accounts.schemas import RecoveryCodes, SecondFactor, TotpCode, TotpEnrolment
from services.accounts.service import twofactor
from shared.ratelimit import enforce
from shared.web.routing import AutoCommitRoute

router = APIRouter(prefix="/api/account/2fa", tags=["two-factor"], route_class=AutoCommitRoute)


async def _limit(limiter: Limiter, account: CurrentAccount) -> None:
    await enforce(limiter, limits.TWO_FACTOR_PER_USER, account.username.lower(), message=limits.TOO_MANY_2FA)


@router.post("/totp", response_model=TotpEnrolment)
async def begin_totp(account: CurrentAccount, write: WriteDb, ctx: Ctx) -> TotpEnrolment:
    """Start enrolment: add the secret (or the URI, as a QR code) to an authenticator app, then confirm."""
    secret, uri = await twofactor.begin_totp(write, user_id=account.user_id, ctx=ctx)
    return TotpEnrolment(secret=secret, provisioning_uri=uri)


@router.post("/totp/confirm", response_model=RecoveryCodes)
async def confirm_totp(body: TotpCode, account: CurrentAccount, write: WriteDb, ctx: Ctx,
                       limiter: Limiter) -> RecoveryCodes:
    """Turn two-factor on with a first code; the answer holds recovery codes, shown this once."""
    await _limit(limiter, account)
    codes = await twofactor.confirm_totp(write, user_id=account.user_id, code=body.code, ctx=ctx)
    return RecoveryCodes(recovery_codes=codes)


@router.post("/totp/disable", status_code=204)
async def disable_totp(body: SecondFactor, account: CurrentAccount, write: WriteDb, ctx: Ctx,
                       limiter: Limiter) -> Response:
    """Turn two-factor off, proven with a current code or a recovery code."""
    await _limit(limiter, account)
    await twofactor.disable_totp(write, user_id=account.user_id, code=body.code, recovery_code=body.recovery_code,
                                 ctx=ctx)
    return Response(status_code=204)


@router.post("/recovery-codes", response_model=RecoveryCodes)
async def regenerate_recovery_codes(body: TotpCode, account: CurrentAccount, write: WriteDb,
                                    limiter: Limiter) -> RecoveryCodes:
    """Replace every recovery code (the old ones stop working), proven with a current code."""
    await _limit(limiter, account)
    codes = await twofactor.regenerate_recovery_codes(write, user_id=account.user_id, code=body.code)
    return RecoveryCodes(recovery_codes=codes)
