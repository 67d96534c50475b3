"""Verification of OIDC ID tokens from trusted issuers (GitHub Actions, GitLab CI).

The order matters: nothing read from the token before its signature is checked
is trusted beyond choosing *which* key to check it with.

1. The header must say ``alg: RS256`` (never ``none``, never an HMAC algorithm a
   public key could be abused as the secret of) and name a ``kid``.
2. The unverified ``iss`` must be one of the configured issuers.
3. The key comes from that issuer's JWKS (:class:`JwksCache`).
4. PyJWT checks the signature, the required claims and the audience.  The
   ``aud`` claim must be exactly our audience string; a list is refused even
   when it only names us (PyPI does the same; PyJWT's ``strict_aud``).
5. ``exp``/``nbf``/``iat`` are checked here against ``now`` with ``leeway``
   (PyJWT has no clock parameter, so tests could not pin time otherwise).

Replay protection (remembering ``jti`` until ``expires_at``) is the caller's job.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import jwt

from services.accounts.oidc.errors import InvalidIdTokenError, ProblemCode, TokenProblem
from services.accounts.oidc.jwks import JwksCache

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "jti")
_LAST_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature, audience and validity period were checked.

    ``issuer`` is the matching entry of the configured ``issuers``, as given there.
    """

    issuer: str
    claims: Mapping[str, Any]
    jti: str
    expires_at: datetime


async def verify_id_token(
    token: str,
    *,
    issuers: Collection[str],
    audience: str,
    jwks: JwksCache,
    leeway: timedelta = timedelta(seconds=30),
    now: datetime | None = None,
) -> VerifiedToken:
    """Verify ``token`` or raise :class:`InvalidIdTokenError` (or ``JwksUnavailableError``)."""
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    kid = _checked_kid(token)
    unverified = _unverified_claims(token)
    issuer = _trusted_issuer(unverified, issuers)
    key = await jwks.get_key(issuer, kid)
    claims = _verified_claims(token, key, unverified=unverified, audience=audience, issuer=issuer, kid=kid)
    _check_validity_period(claims, now=now or datetime.now(UTC), leeway=leeway)
    return VerifiedToken(
        issuer=issuer,
        claims=MappingProxyType(claims),
        jti=claims["jti"],
        expires_at=_numeric_date(claims, "exp"),
    )


def _refuse(code: str, description: str) -> InvalidIdTokenError:
    return InvalidIdTokenError.single(code, description)


def _checked_kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise _refuse(ProblemCode.INVALID_TOKEN, f"The token is not a well-formed JWT ({error}).") from error
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise _refuse(
            ProblemCode.INVALID_ALGORITHM,
            f"The token is signed with algorithm {alg!r}; only {ALGORITHM!r} is accepted.",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _refuse(ProblemCode.UNKNOWN_KEY, "The token's header does not name its signing key ('kid').")
    return kid


def _unverified_claims(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise _refuse(ProblemCode.INVALID_TOKEN, f"The token's payload cannot be decoded ({error}).") from error


def _trusted_issuer(unverified: Mapping[str, Any], issuers: Collection[str]) -> str:
    iss = unverified.get("iss")
    if iss is None:
        raise _refuse(ProblemCode.MISSING_CLAIM, "The token has no 'iss' claim, which is required.")
    if not isinstance(iss, str):
        raise _refuse(ProblemCode.INVALID_TOKEN, f"The token's 'iss' claim must be a string, not {iss!r}.")
    for issuer in issuers:
        if issuer.rstrip("/") == iss.rstrip("/"):
            return issuer
    raise _refuse(ProblemCode.UNKNOWN_ISSUER, f"The token was issued by {iss!r}, which is not a trusted issuer.")


def _verified_claims(
    token: str, key: jwt.PyJWK, *, unverified: Mapping[str, Any], audience: str, issuer: str, kid: str
) -> dict[str, Any]:
    options: Any = {
        "require": list(REQUIRED_CLAIMS),
        "strict_aud": True,
        "verify_exp": False,  # checked by _check_validity_period against `now`
        "verify_nbf": False,
        "verify_iat": False,
    }
    try:
        return jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=audience, issuer=unverified["iss"], options=options
        )
    except jwt.PyJWTError as error:
        problem = _problem_for(error, unverified=unverified, audience=audience, issuer=issuer, kid=kid)
        raise InvalidIdTokenError([problem]) from error


def _problem_for(
    error: jwt.PyJWTError, *, unverified: Mapping[str, Any], audience: str, issuer: str, kid: str
) -> TokenProblem:
    match error:
        case jwt.InvalidSignatureError():
            return TokenProblem(
                ProblemCode.INVALID_SIGNATURE,
                f"The token's signature does not verify with key {kid!r} of {issuer}; it was altered or forged.",
            )
        case jwt.MissingRequiredClaimError():
            return TokenProblem(
                ProblemCode.MISSING_CLAIM, f"The token has no {error.claim!r} claim, which is required."
            )
        case jwt.InvalidAudienceError():
            return TokenProblem(ProblemCode.INVALID_AUDIENCE, _audience_description(unverified.get("aud"), audience))
        case jwt.InvalidAlgorithmError():
            return TokenProblem(ProblemCode.INVALID_ALGORITHM, f"The token's algorithm is not accepted ({error}).")
        case jwt.InvalidIssuerError():
            return TokenProblem(ProblemCode.UNKNOWN_ISSUER, f"The token's issuer is not trusted ({error}).")
        case jwt.InvalidJTIError():
            return TokenProblem(ProblemCode.INVALID_TOKEN, "The token's 'jti' claim must be a string.")
        case _:
            return TokenProblem(ProblemCode.INVALID_TOKEN, f"The token could not be verified ({error}).")


def _audience_description(aud: object, audience: str) -> str:
    if isinstance(aud, list):
        return f"The token's audience is {aud!r}; it must be exactly {audience!r}, not a list."
    return f"The token's audience is {aud!r}; it must be exactly {audience!r}."


def _check_validity_period(claims: Mapping[str, Any], *, now: datetime, leeway: timedelta) -> None:
    expires, not_before, issued = (_numeric_date(claims, name) for name in ("exp", "nbf", "iat"))
    checks = (
        (expires <= now - leeway, ProblemCode.EXPIRED, "expired at", expires),
        (not_before > now + leeway, ProblemCode.NOT_YET_VALID, "is not valid before", not_before),
        (issued > now + leeway, ProblemCode.ISSUED_IN_FUTURE, "claims to be issued at", issued),
    )
    problems = [
        _time_problem(code, what, when, now=now, leeway=leeway) for failed, code, what, when in checks if failed
    ]
    if problems:
        raise InvalidIdTokenError(problems)


def _time_problem(code: str, what: str, when: datetime, *, now: datetime, leeway: timedelta) -> TokenProblem:
    seconds = round(abs((when - now).total_seconds()))
    relative = "ago" if when <= now else "from now"
    return TokenProblem(
        code,
        f"The token {what} {when:%Y-%m-%dT%H:%M:%SZ}, {seconds} s {relative} "
        f"(allowed clock skew: {leeway.total_seconds():g} s).",
    )


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _refuse(
            ProblemCode.INVALID_TOKEN, f"The token's {name!r} claim must be a number of seconds, not {value!r}."
        )
    if not 0 <= value <= _LAST_NUMERIC_DATE:
        raise _refuse(ProblemCode.INVALID_TOKEN, f"The token's {name!r} claim ({value!r}) is out of range.")
    return datetime.fromtimestamp(value, UTC)
