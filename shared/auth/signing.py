"""Signed, time-limited, purpose-bound values for links sent by email.

A value is ``<body>.<mac>``: ``body`` is the unpadded base64url of the compact JSON
``{"p": payload, "t": issued_at}`` and ``mac`` the unpadded base64url of
HMAC-SHA256 over the purpose, a NUL byte and the body. Binding the purpose means
an email-verification link can never be replayed as a password-reset link.

The payload is signed, not encrypted: anyone holding the link can read it, so it
must hold identifiers only. :func:`unsign` accepts several keys so the secret key
can be rotated: sign with the current key, verify with the current one first and
then the previous ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["BadSignatureError", "SignatureExpiredError", "sign", "unsign"]

MAX_VALUE_LENGTH = 4096
CLOCK_SKEW = timedelta(seconds=60)
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
_MAC_SIZE = hashlib.sha256().digest_size
_JSON_OPTIONS: dict[str, Any] = {"separators": (",", ":"), "sort_keys": True, "allow_nan": False}


class BadSignatureError(ValueError):
    """The value is malformed, tampered with, or signed for another purpose or key."""


class SignatureExpiredError(BadSignatureError):
    """The signature is genuine but too old, or issued too far in the future."""


def sign(key: bytes, *, purpose: str, payload: Mapping[str, Any], now: datetime | None = None) -> str:
    issued_at = int((now or datetime.now(UTC)).timestamp())
    body = _b64encode(json.dumps({"p": dict(payload), "t": issued_at}, **_JSON_OPTIONS).encode())
    return body + "." + _b64encode(_mac(key, purpose=purpose, body=body))


def unsign(
    keys: Sequence[bytes],
    *,
    purpose: str,
    value: str,
    max_age: timedelta,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The payload of a genuine, fresh ``value`` signed by one of ``keys`` for ``purpose``.

    Raises BadSignatureError for anything malformed, tampered with or signed for
    another purpose, and SignatureExpiredError when older than ``max_age`` or issued
    more than a minute in the future.
    """
    if not keys:
        raise ValueError("unsign needs at least one key.")
    body, mac = _split(value)
    if not any(hmac.compare_digest(_mac(key, purpose=purpose, body=body), mac) for key in keys):
        raise BadSignatureError("Signature does not match.")
    payload, issued_at = _load_body(body)
    _check_age(issued_at, max_age=max_age, now=now or datetime.now(UTC))
    return payload


def _mac(key: bytes, *, purpose: str, body: str) -> bytes:
    return hmac.digest(key, purpose.encode() + b"\x00" + body.encode("ascii"), hashlib.sha256)


def _split(value: Any) -> tuple[str, bytes]:
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH or value.count(".") != 1:
        raise BadSignatureError("Malformed signed value.")
    body, _, mac = value.partition(".")
    _b64decode(body)
    signature = _b64decode(mac)
    if len(signature) != _MAC_SIZE:
        raise BadSignatureError("Malformed signed value.")
    return body, signature


def _load_body(body: str) -> tuple[dict[str, Any], int]:
    try:
        fields = json.loads(_b64decode(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadSignatureError("Malformed signed value.") from exc
    if not isinstance(fields, dict) or set(fields) != {"p", "t"}:
        raise BadSignatureError("Malformed signed value.")
    if not isinstance(fields["p"], dict) or type(fields["t"]) is not int:
        raise BadSignatureError("Malformed signed value.")
    return fields["p"], fields["t"]


def _check_age(issued_at: int, *, max_age: timedelta, now: datetime) -> None:
    age = now.timestamp() - issued_at
    if age > max_age.total_seconds():
        raise SignatureExpiredError("The link has expired.")
    if -age > CLOCK_SKEW.total_seconds():
        raise SignatureExpiredError("The link was issued in the future.")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict unpadded base64url: other characters and non-canonical trailing bits are refused."""
    if not _B64URL_RE.match(text):
        raise BadSignatureError("Malformed signed value.")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSignatureError("Malformed signed value.") from exc
    if _b64encode(data) != text:
        raise BadSignatureError("Malformed signed value.")
    return data
