"""Time-based one-time passwords (RFC 6238, SHA-1, 6 digits, 30 s) and recovery codes.

Authenticator apps all speak the defaults used here, so nothing else is offered.
:func:`matching_step` only says which time step a code belongs to; refusing a code
that was already used (a step at or below the last accepted one) is the caller's
job, since it needs the stored state.

Recovery codes carry 80 random bits each, so, as with API tokens in
:mod:`shared.auth.tokens`, a fast SHA-256 makes the stored value useless to a
thief without password-style stretching, and a code is found with one lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

__all__ = [
    "DIGITS",
    "STEP_SECONDS",
    "code_at",
    "hash_recovery_code",
    "matching_step",
    "new_recovery_codes",
    "new_secret",
    "normalize_code",
    "normalize_recovery_code",
    "provisioning_uri",
    "time_step",
]

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommendation
RECOVERY_CODE_BYTES = 10  # 80 bits → 16 base32 characters
_MAX_CODE_INPUT = 64
_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
_CODE_RE = re.compile(r"^[0-9]{6}\Z")  # [0-9], not \d: other scripts' digits are refused
_CODE_JUNK = str.maketrans("", "", _ASCII_WHITESPACE + "-.")
_RECOVERY_JUNK = str.maketrans("", "", _ASCII_WHITESPACE + "-")


def new_secret() -> str:
    return _b32encode(secrets.token_bytes(SECRET_BYTES))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans; label parts are percent-encoded, ``:`` too."""
    label = quote(issuer, safe="") + ":" + quote(account, safe="")
    query = {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"


def time_step(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("time_step needs a timezone-aware datetime.")
    return int(now.timestamp() // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    """RFC 4226 HOTP of ``step``: HMAC-SHA1, dynamic truncation, zero-padded."""
    digest = hmac.digest(_b32decode(secret), step.to_bytes(8, "big"), hashlib.sha1)
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def normalize_code(text: str) -> str | None:
    """The 6 ASCII digits typed, ignoring ASCII whitespace, ``-`` and ``.``; None otherwise."""
    if len(text) > _MAX_CODE_INPUT:
        return None
    code = text.translate(_CODE_JUNK)
    return code if _CODE_RE.match(code) else None


def matching_step(secret: str, code: str, *, now: datetime, window: int = 1) -> int | None:
    """The step within ``window`` steps of ``now`` whose code is ``code``, else None.

    Every candidate is compared in constant time; if several match, the latest wins.
    The caller must refuse a step at or below the last one it accepted (reuse).
    """
    if window < 0:
        raise ValueError("window must not be negative.")
    typed = normalize_code(code)
    if typed is None:
        return None
    current = time_step(now)
    found = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(code_at(secret, step), typed):
            found = step
    return found


def new_recovery_codes(count: int = 8) -> list[str]:
    """``count`` distinct codes like ``abcd-efgh-ijkl-mnop`` (80 random bits each)."""
    if count < 1:
        raise ValueError("count must be at least 1.")
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes[_new_recovery_code()] = None
    return list(codes)


def normalize_recovery_code(text: str) -> str:
    return text.translate(_RECOVERY_JUNK).lower()


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = _b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).lower()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _b32decode(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
