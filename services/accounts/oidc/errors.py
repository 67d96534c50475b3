"""Errors of trusted publishing (OIDC).

A refused ID token is one :class:`InvalidIdTokenError` carrying every
:class:`TokenProblem` found, in the shape Warehouse answers its token-exchange
endpoint with: ``details={"errors": [{"code": ..., "description": ...}]}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import AppError


class ProblemCode(StrEnum):
    """The ``code`` of a :class:`TokenProblem`; members compare equal to their strings."""

    INVALID_TOKEN = "invalid-token"
    INVALID_ALGORITHM = "invalid-algorithm"
    UNKNOWN_ISSUER = "unknown-issuer"
    UNKNOWN_KEY = "unknown-key"
    INVALID_SIGNATURE = "invalid-signature"
    INVALID_AUDIENCE = "invalid-audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    ISSUED_IN_FUTURE = "issued-in-future"
    MISSING_CLAIM = "missing-claim"
    INVALID_PUBLISHER = "invalid-publisher"
    FORBIDDEN_EVENT = "forbidden-event"


@dataclass(frozen=True)
class TokenProblem:
    """One reason a token was refused: a stable ``code`` and a sentence for people."""

    code: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "description": self.description}


class OidcError(AppError):
    """Base of every trusted-publishing error."""


class InvalidIdTokenError(OidcError):
    """The ID token was refused; ``errors`` says why (at least one problem)."""

    status_code = 422

    def __init__(self, errors: Iterable[TokenProblem]) -> None:
        self.errors = list(errors)
        if not self.errors:
            raise ValueError("InvalidIdTokenError needs at least one TokenProblem")
        message = "The OIDC ID token was refused: " + " ".join(p.description for p in self.errors)
        super().__init__(message, details={"errors": [p.as_dict() for p in self.errors]})

    @classmethod
    def single(cls, code: str, description: str) -> InvalidIdTokenError:
        return cls([TokenProblem(code, description)])

    @property
    def codes(self) -> list[str]:
        return [str(problem.code) for problem in self.errors]


class JwksUnavailableError(OidcError):
    """The issuer's OpenID discovery document or JWKS could not be fetched or was malformed."""

    status_code = 503

    def __init__(self, issuer: str, reason: str) -> None:
        self.issuer = issuer
        self.reason = reason
        super().__init__(
            f"The signing keys of {issuer} are unavailable: {reason}",
            details={"issuer": issuer, "reason": reason},
        )
