"""Domain errors of the accounts service; each carries its status and a message that says what to do."""

from __future__ import annotations

from typing import Any

from shared.errors import (
    AppError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotAuthenticatedError,
    NotFoundError,
)

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="Wheelhouse account"'}


class InvalidUsernameError(BadRequestError):
    pass


class InvalidEmailError(BadRequestError):
    pass


class InvalidPasswordError(BadRequestError):
    pass


class UserExistsError(ConflictError):
    pass


class UserNotFoundError(NotFoundError):
    pass


class TokenNotFoundError(NotFoundError):
    pass


class InvalidTokenRequestError(BadRequestError):
    pass


class _AccountAuthError(NotAuthenticatedError):
    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", dict(BEARER_CHALLENGE))
        super().__init__(message, **kwargs)


class InvalidCredentialsError(_AccountAuthError):
    """Wrong username or password: one answer for both, so usernames cannot be probed."""


class TwoFactorRequiredError(_AccountAuthError):
    """The password was right; a TOTP code or recovery code must come with it."""


class InvalidTwoFactorCodeError(_AccountAuthError):
    pass


class SessionRequiredError(_AccountAuthError):
    pass


class ApiTokenNotAllowedError(ForbiddenError):
    """API tokens upload and manage projects; they never manage the account that owns them."""


class InvalidLinkError(BadRequestError):
    """An email-verification or password-reset link is invalid, expired or already used."""


class TwoFactorStateError(ConflictError):
    pass


class ProjectNotFoundError(NotFoundError):
    pass


class NotAllowedError(ForbiddenError):
    pass


class InvitationNotFoundError(NotFoundError):
    pass


class InvitationExistsError(ConflictError):
    pass


class RoleNotFoundError(NotFoundError):
    pass


class RoleExistsError(ConflictError):
    pass


class LastOwnerError(ConflictError):
    """A project must keep at least one owner."""


class EmailDeliveryFailedError(AppError):
    status_code = 503
