"""API token secrets: ``pypi-`` prefixed, shown once, stored only as a SHA-256.

The secret carries 256 random bits, so a fast hash is enough to make the stored
value useless to a thief (no password-style stretching is needed), and lookups
stay one indexed query.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

TOKEN_PREFIX = "pypi-"
_SECRET_RE = re.compile(r"^pypi-[A-Za-z0-9_-]{43}\Z")
_DURATION_RE = re.compile(r"^(\d+)([mhdw])\Z")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_token(secret: str) -> bool:
    return bool(_SECRET_RE.match(secret))


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` → a timedelta; ValueError otherwise."""
    match = _DURATION_RE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"Invalid duration {text!r}: use a positive number followed by m, h, d or w (e.g. 30d).")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
