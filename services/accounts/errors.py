from __future__ import annotations

from shared.errors import BadRequestError, ConflictError, NotFoundError


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
