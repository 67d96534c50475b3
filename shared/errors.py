"""Domain errors shared by every service.

Every expected condition is a subclass of :class:`AppError` carrying a 4xx
status.  Route layers render them; domain code never imports an HTTP framework.
The JSON shape (DESIGN.md "Errors") is ``{"error": {"code", "message", "details"}}``;
endpoints that PyPI clients call (legacy upload, simple API) render the message
as ``text/plain`` instead, because twine prints the body.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every expected error. ``code`` defaults to the class name."""

    status_code: int = 500

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}
        self.headers = headers or {}

    @property
    def code(self) -> str:
        name = type(self).__name__
        return name[: -len("Error")] if name.endswith("Error") else name


class BadRequestError(AppError):
    """The request is malformed or fails validation (400)."""

    status_code = 400


class NotAuthenticatedError(AppError):
    """No usable credentials were sent (401)."""

    status_code = 401

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Basic realm="Wheelhouse"'})
        super().__init__(message, **kwargs)


class ForbiddenError(AppError):
    """The credentials are valid but do not allow this action (403)."""

    status_code = 403


class NotFoundError(AppError):
    """The thing asked for does not exist (404)."""

    status_code = 404


class ConflictError(AppError):
    """The request conflicts with the current state (409)."""

    status_code = 409


class GoneError(AppError):
    """The endpoint or action is retired (410)."""

    status_code = 410


class NotAcceptableError(AppError):
    """No representation matches the client's ``Accept`` header (406)."""

    status_code = 406


class TooManyRequestsError(AppError):
    """A rate limit was hit (429); ``Retry-After`` says when to try again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(1, retry_after))})
        kwargs.setdefault("details", {"retry_after": max(1, retry_after)})
        super().__init__(message, **kwargs)
        self.retry_after = max(1, retry_after)
