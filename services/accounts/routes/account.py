"""Registration, login sessions, email verification, passwords and deactivation."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from services.accounts import limits
from services.accounts.deps import ClientIp, Ctx, CurrentAccount, Limiter, ReadDb, Settings, WriteDb
from services.accounts.schemas import (
    Accepted,
    EmailPublic,
    LinkToken,
    LoginRequest,
    PasswordChange,
    PasswordConfirm,
    PasswordReset,
    PasswordResetRequest,
    SessionPublic,
    UploadPolicy,
    UserCreate,
    UserPublic,
)
from services.accounts.service import sessions, users
from shared.ratelimit import enforce
from shared.web.routing import AutoCommitRoute

router = APIRouter(prefix="/api/account", tags=["account"], route_class=AutoCommitRoute)

RESET_ACCEPTED = "If an account matches, a link to reset its password has been sent to its email address."


def _base_url(request: Request) -> str:
    return str(request.base_url)


@router.post("/register", status_code=201, response_model=UserPublic)
async def register_user(body: UserCreate, request: Request, write: WriteDb, ctx: Ctx, limiter: Limiter,
                        ip: ClientIp) -> UserPublic:
    """Create an account; a verification link is emailed to the address."""
    await enforce(limiter, limits.REGISTER_PER_IP, ip, message=limits.TOO_MANY_REGISTRATIONS)
    user = await users.register(write, username=body.username, email=body.email, password=body.password,
                                ctx=ctx, base_url=_base_url(request))
    return UserPublic(username=user.username, created=user.created, two_factor=False,
                      emails=[EmailPublic(email=body.email.lower(), verified=False, primary=True)])


@router.post("/login", response_model=SessionPublic)
async def log_in(body: LoginRequest, read: ReadDb, write: WriteDb, ctx: Ctx, limiter: Limiter,
                 ip: ClientIp) -> SessionPublic:
    """Exchange username, password (and a second factor when enabled) for a short-lived session token."""
    await enforce(limiter, limits.LOGIN_PER_IP, ip, message=limits.TOO_MANY_LOGINS)
    await enforce(limiter, limits.LOGIN_PER_USER, body.username.strip().lower(), message=limits.TOO_MANY_LOGINS)
    if body.totp_code or body.recovery_code:
        await enforce(limiter, limits.TWO_FACTOR_PER_USER, body.username.strip().lower(),
                      message=limits.TOO_MANY_2FA)
    new = await sessions.login(write, username=body.username, password=body.password, totp_code=body.totp_code,
                               recovery_code=body.recovery_code, ctx=ctx, read=read)
    return SessionPublic(token=new.token, expires_at=new.expires_at, username=new.username)


@router.post("/logout", status_code=204)
async def log_out(account: CurrentAccount, write: WriteDb) -> Response:
    await sessions.logout(write, account=account)
    return Response(status_code=204)


@router.get("", response_model=UserPublic)
async def get_account(account: CurrentAccount, write: WriteDb, settings: Settings) -> UserPublic:
    """The caller's account, and the upload policy of this index."""
    user, emails = await users.profile(write, user_id=account.user_id)
    return UserPublic(
        username=user.username, created=user.created, two_factor=user.totp_enabled,
        emails=[EmailPublic(email=e.email, verified=e.verified, primary=e.primary) for e in emails],
        upload_policy=UploadPolicy(requires_2fa=bool(settings.upload_requires_2fa),
                                   requires_verified_email=bool(settings.upload_requires_verified_email)),
    )


@router.post("/email/verification", status_code=202, response_model=Accepted)
async def resend_verification(account: CurrentAccount, request: Request, write: WriteDb, ctx: Ctx,
                              limiter: Limiter) -> Accepted:
    await enforce(limiter, limits.VERIFY_SEND_PER_USER, str(account.user_id), message=limits.TOO_MANY_VERIFY)
    user = await users.require_user_id(write, account.user_id)
    email = await users.send_verification(write, user, ctx=ctx, base_url=_base_url(request))
    return Accepted(message=f"A verification link has been sent to {email.email}.")


@router.get("/email/verify", response_model=EmailPublic)
async def verify_email_link(write: WriteDb, ctx: Ctx, token: str = Query(max_length=4096)) -> EmailPublic:
    """The link in the verification email (opening it verifies the address)."""
    email = await users.verify_email(write, token=token, ctx=ctx)
    return EmailPublic(email=email.email, verified=email.verified, primary=email.primary)


@router.post("/email/verify", response_model=EmailPublic)
async def verify_email(body: LinkToken, write: WriteDb, ctx: Ctx) -> EmailPublic:
    email = await users.verify_email(write, token=body.token, ctx=ctx)
    return EmailPublic(email=email.email, verified=email.verified, primary=email.primary)


@router.post("/password", status_code=204)
async def change_password(body: PasswordChange, account: CurrentAccount, write: WriteDb, ctx: Ctx,
                          limiter: Limiter) -> Response:
    """Change the password; every session ends (log in again)."""
    await enforce(limiter, limits.LOGIN_PER_USER, account.username.lower(), message=limits.TOO_MANY_LOGINS)
    await users.change_password(write, user_id=account.user_id, current_password=body.current_password,
                                new_password=body.new_password, ctx=ctx)
    return Response(status_code=204)


@router.post("/password/reset-request", status_code=202, response_model=Accepted)
async def request_password_reset(body: PasswordResetRequest, request: Request, write: WriteDb, ctx: Ctx,
                                 limiter: Limiter, ip: ClientIp) -> Accepted:
    """Email a reset link. The answer is the same whether or not the account exists."""
    await enforce(limiter, limits.RESET_PER_IP, ip, message=limits.TOO_MANY_RESETS)
    await enforce(limiter, limits.RESET_PER_TARGET, body.username_or_email.strip().lower(),
                  message=limits.TOO_MANY_RESETS)
    await users.request_password_reset(write, identifier=body.username_or_email, ctx=ctx,
                                       base_url=_base_url(request))
    return Accepted(message=RESET_ACCEPTED)


@router.post("/password/reset", status_code=204)
async def reset_password(body: PasswordReset, write: WriteDb, ctx: Ctx, limiter: Limiter, ip: ClientIp) -> Response:
    """Set a new password with the token from the reset email; the token works once."""
    await enforce(limiter, limits.RESET_PER_IP, ip, message=limits.TOO_MANY_RESETS)
    await users.reset_password(write, token=body.token, new_password=body.new_password, ctx=ctx)
    return Response(status_code=204)


@router.post("/deactivate", status_code=204)
async def deactivate_account(body: PasswordConfirm, account: CurrentAccount, write: WriteDb,
                             limiter: Limiter) -> Response:
    """Deactivate the account: sessions end and its API tokens stop working at once."""
    await enforce(limiter, limits.LOGIN_PER_USER, account.username.lower(), message=limits.TOO_MANY_LOGINS)
    await users.deactivate_self(write, user_id=account.user_id, password=body.password)
    return Response(status_code=204)
