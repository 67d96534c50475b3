"""API tokens that a holder can narrow offline, in the manner of macaroon caveats.

A token is ``pypi-`` followed by the unpadded base64url of the compact, sorted-keys
JSON ``{"v": 2, "i": <token id>, "c": [<caveat>, ...], "s": <signature>}``. The
signature is an HMAC chain: it starts from the token's root key and the id, and
each caveat, in order, is folded in by keying the next HMAC with the previous
signature. Whoever holds a token can therefore append a caveat and recompute the
signature without any key, but nobody can remove or edit one without the root key.

The root key is derived from the server's secret key and the token id
(:func:`derive_root_key`), so the server stores no per-token secret: a database
dump alone can neither forge nor use a token.

Caveats are JSON objects with exactly one key; anything else refuses the token
(fail closed):

* ``{"projects": [name, ...]}``: only these normalised project names; several intersect.
* ``{"exp": <unix seconds>}``: unusable at or after that time; the earliest wins.
* ``{"nbf": <unix seconds>}``: unusable before that time; the latest wins.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.auth.tokens import TOKEN_PREFIX
from shared.names import is_valid_name, normalize_name

__all__ = [
    "TOKEN_PREFIX",
    "CaveatError",
    "Macaroon",
    "MalformedTokenError",
    "Restrictions",
    "decode",
    "derive_root_key",
    "looks_like_macaroon",
    "mint",
    "restrict",
    "restrictions",
    "verify_signature",
]

VERSION = 2
MAX_TOKEN_LENGTH = 4096
_ROOT_KEY_CONTEXT = b"wheelhouse api token root key\x00"
_SIGNATURE_CONTEXT = b"wheelhouse-token-v2\x00"
_TOKEN_ID_RE = re.compile(r"^[0-9a-f]{32}\Z")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*\Z")
_MIN_TIMESTAMP = 0
_MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


class MalformedTokenError(ValueError):
    """The text is not a well-formed v2 API token."""


class CaveatError(ValueError):
    """A caveat is unknown or invalid; the message says what to fix."""


@dataclass(frozen=True)
class Macaroon:
    id: str
    caveats: tuple[dict, ...]
    signature: bytes


@dataclass(frozen=True)
class Restrictions:
    """What a token's caveats allow, folded; ``None`` means unrestricted."""

    projects: frozenset[str] | None
    expires_at: datetime | None
    not_before: datetime | None

    def permits(self, project: str | None, *, now: datetime) -> bool:
        """True when usable at ``now`` and, if ``project`` is given, for that project."""
        if self.expires_at is not None and now >= self.expires_at:
            return False
        if self.not_before is not None and now < self.not_before:
            return False
        return project is None or self.projects is None or normalize_name(project) in self.projects


# --- signing ------------------------------------------------------------------


def derive_root_key(secret_key: bytes, token_id: str) -> bytes:
    return hmac.digest(secret_key, _ROOT_KEY_CONTEXT + token_id.encode(), hashlib.sha256)


def mint(root_key: bytes, token_id: str, caveats: Sequence[Mapping] = ()) -> str:
    """A new token for ``token_id`` (32 lowercase hex) carrying ``caveats``, which must be valid."""
    if not _TOKEN_ID_RE.match(token_id):
        raise ValueError(f"Invalid token id {token_id!r}: use 32 lowercase hex digits (uuid4().hex).")
    caveats = tuple(caveats)
    restrictions(caveats)
    plain = tuple(json.loads(_canonical_json(dict(caveat))) for caveat in caveats)
    signature = _extend(_first_signature(root_key, token_id), plain)
    return _encode(Macaroon(id=token_id, caveats=plain, signature=signature))


def verify_signature(macaroon: Macaroon, root_key: bytes) -> bool:
    expected = _extend(_first_signature(root_key, macaroon.id), macaroon.caveats)
    return hmac.compare_digest(expected, macaroon.signature)


def restrict(
    token: str,
    *,
    projects: Iterable[str] | None = None,
    expires_at: datetime | None = None,
    not_before: datetime | None = None,
) -> str:
    """Append one caveat per given argument; needs no key, so any holder can narrow a token."""
    macaroon = decode(token)
    added = _new_caveats(projects=projects, expires_at=expires_at, not_before=not_before)
    if not added:
        raise CaveatError("Nothing to restrict: give projects, expires_at or not_before.")
    signature = _extend(macaroon.signature, added)
    return _encode(Macaroon(id=macaroon.id, caveats=macaroon.caveats + added, signature=signature))


def _first_signature(root_key: bytes, token_id: str) -> bytes:
    return hmac.digest(root_key, _SIGNATURE_CONTEXT + token_id.encode(), hashlib.sha256)


def _extend(signature: bytes, caveats: Iterable[Any]) -> bytes:
    for caveat in caveats:
        signature = hmac.digest(signature, _canonical_json(caveat), hashlib.sha256)
    return signature


def _canonical_json(value: Any) -> bytes:
    # json's default ensure_ascii keeps lone surrogates from a hostile token encodable; ASCII is valid UTF-8.
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


# --- text form ----------------------------------------------------------------


def decode(token: str) -> Macaroon:
    """Parse a token without checking its signature; MalformedTokenError if it is not a v2 token."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        raise MalformedTokenError("Not an API token: expected 'pypi-' followed by at most 4096 characters.")
    fields = _load_json(_b64decode(token[len(TOKEN_PREFIX) :]))
    if not isinstance(fields, dict) or set(fields) != {"v", "i", "c", "s"}:
        raise MalformedTokenError("Token body must hold exactly the fields v, i, c and s.")
    return Macaroon(id=_token_id(fields), caveats=_caveat_list(fields["c"]), signature=_signature(fields["s"]))


def looks_like_macaroon(token: str) -> bool:
    try:
        decode(token)
    except MalformedTokenError:
        return False
    return True


def _encode(macaroon: Macaroon) -> str:
    fields = {"v": VERSION, "i": macaroon.id, "c": list(macaroon.caveats), "s": _b64encode(macaroon.signature)}
    return TOKEN_PREFIX + _b64encode(_canonical_json(fields))


def _token_id(fields: dict[str, Any]) -> str:
    if type(fields["v"]) is not int or fields["v"] != VERSION:
        raise MalformedTokenError(f"Unsupported token version {fields['v']!r}: expected {VERSION}.")
    if not isinstance(fields["i"], str) or not _TOKEN_ID_RE.match(fields["i"]):
        raise MalformedTokenError("Token id must be 32 lowercase hex digits.")
    return fields["i"]


def _caveat_list(value: Any) -> tuple[dict, ...]:
    if not isinstance(value, list) or not all(isinstance(caveat, dict) for caveat in value):
        raise MalformedTokenError("Token caveats must be a list of JSON objects.")
    return tuple(value)


def _signature(value: Any) -> bytes:
    signature = _b64decode(value) if isinstance(value, str) else b""
    if len(signature) != hashlib.sha256().digest_size:
        raise MalformedTokenError("Token signature must be 32 bytes.")
    return signature


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict unpadded base64url: other characters and non-canonical trailing bits are refused."""
    if not _B64URL_RE.match(text):
        raise MalformedTokenError("Token is not unpadded base64url.")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedTokenError("Token is not unpadded base64url.") from exc
    if _b64encode(data) != text:
        raise MalformedTokenError("Token is not canonical base64url.")
    return data


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedTokenError("Token body is not valid JSON.") from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# --- caveats ------------------------------------------------------------------


def restrictions(caveats: Iterable[Mapping[str, Any]]) -> Restrictions:
    """Validate every caveat (CaveatError otherwise) and fold them into one Restrictions."""
    projects: frozenset[str] | None = None
    expires: list[int] = []
    starts: list[int] = []
    for caveat in caveats:
        key, value = _single_entry(caveat)
        if key == "projects":
            names = _project_names(value)
            projects = names if projects is None else projects & names
        else:
            (expires if key == "exp" else starts).append(_timestamp(key, value))
    return Restrictions(
        projects=projects,
        expires_at=_utc(min(expires)) if expires else None,
        not_before=_utc(max(starts)) if starts else None,
    )


def _single_entry(caveat: Any) -> tuple[str, Any]:
    if not isinstance(caveat, Mapping) or len(caveat) != 1:
        raise CaveatError(f"Invalid caveat {caveat!r}: a caveat is an object with exactly one key.")
    ((key, value),) = caveat.items()
    if key not in ("projects", "exp", "nbf"):
        raise CaveatError(f"Unknown caveat {key!r}: use 'projects', 'exp' or 'nbf'.")
    return key, value


def _project_names(value: Any) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not value:
        raise CaveatError("The 'projects' caveat must be a non-empty list of project names.")
    for name in value:
        if not isinstance(name, str) or not is_valid_name(name) or normalize_name(name) != name:
            raise CaveatError(f"Invalid project name {name!r} in caveat: use the normalised name.")
    return frozenset(value)


def _timestamp(key: str, value: Any) -> int:
    if type(value) is not int or not _MIN_TIMESTAMP <= value <= _MAX_TIMESTAMP:
        raise CaveatError(f"The {key!r} caveat must be a whole number of Unix seconds.")
    return value


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _new_caveats(
    *, projects: Iterable[str] | None, expires_at: datetime | None, not_before: datetime | None
) -> tuple[dict[str, Any], ...]:
    added: list[dict[str, Any]] = []
    if projects is not None:
        added.append({"projects": _normalised_projects(projects)})
    if expires_at is not None:
        added.append({"exp": math.floor(_aware(expires_at, "expires_at").timestamp())})
    if not_before is not None:
        added.append({"nbf": math.ceil(_aware(not_before, "not_before").timestamp())})
    restrictions(added)
    return tuple(added)


def _normalised_projects(projects: Iterable[str]) -> list[str]:
    if isinstance(projects, str):
        raise CaveatError("projects must be a list of names, not a single string.")
    names = list(projects)
    for name in names:
        if not isinstance(name, str) or not is_valid_name(name):
            raise CaveatError(f"Invalid project name {name!r}.")
    return sorted({normalize_name(name) for name in names})


def _aware(moment: datetime, argument: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CaveatError(f"{argument} must be a timezone-aware datetime.")
    return moment
