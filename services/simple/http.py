"""Pure HTTP helpers for the simple API: entity tags and byte ranges (STANDARDS API-9, API-10).

RFC 9110 sections 8.8.3 (ETag), 13.1.2 (If-None-Match) and 14 (Range
requests).  Strings in, strings or tuples out; no HTTP framework imported.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal, TypeAlias

UNSATISFIABLE: Final = "unsatisfiable"
#: ``(start, end)`` inclusive, ``None`` for "send everything", or :data:`UNSATISFIABLE` for 416.
ByteRange: TypeAlias = tuple[int, int] | Literal["unsatisfiable"] | None

#: An entity-tag inside an If-None-Match list: optional weakness flag, quoted opaque tag.
_ENTITY_TAG = re.compile(r'\s*(?:W/)?("[^"]*")\s*(?:,|$)')
_BYTE_RANGE = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)


def make_etag(*parts: object) -> str:
    """A strong, quoted ETag derived from ``parts`` (API-10), e.g. project, serial and media type.

    Each part is length-prefixed before hashing, so ``("ab", "c")`` and
    ``("a", "bc")`` give different tags; ``bytes`` parts are hashed as is.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        digest.update(b"%d:" % len(data))
        digest.update(data)
    return f'"{digest.hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (RFC 9110 §13.1.2, weak comparison).

    ``*`` matches any current representation.  ``W/`` prefixes are ignored on
    both sides, as weak comparison requires.  A malformed list matches nothing.
    """
    if if_none_match is None:
        return False
    header = if_none_match.strip()
    if header == "*":
        return True
    wanted = _opaque_tag(etag)
    return any(tag == wanted for tag in _entity_tags(header))


def _opaque_tag(etag: str) -> str:
    etag = etag.strip()
    return etag[2:] if etag.startswith("W/") else etag


def _entity_tags(header: str) -> list[str]:
    """The opaque tags of a comma-separated entity-tag list; commas may occur inside the quotes."""
    tags, position = [], 0
    while position < len(header):
        match = _ENTITY_TAG.match(header, position)
        if match is None:
            return []
        tags.append(match.group(1))
        position = match.end()
    return tags


def parse_range(header: str | None, *, size: int) -> ByteRange:
    """The inclusive ``(start, end)`` byte range asked for by a ``Range`` header (API-9, RFC 9110 §14).

    Returns ``None`` (serve the whole representation with 200) when there is no
    header, it is malformed, uses another unit, or asks for several ranges; and
    :data:`UNSATISFIABLE` (answer 416) when the one range starts at or beyond
    ``size`` or is an empty suffix.  ``bytes=a-b``, ``bytes=a-`` and the suffix
    form ``bytes=-n`` are understood; ``end`` is clamped to ``size - 1``.
    """
    spec = _single_range_spec(header)
    if spec is None:
        return None
    match = _BYTE_RANGE.fullmatch(spec)
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        return _suffix_range(int(last), size=size)
    return _int_range(int(first), int(last) if last else None, size=size)


def _single_range_spec(header: str | None) -> str | None:
    """The one range-spec of a ``bytes=`` header; ``None`` for any other unit or for several ranges."""
    if not header:
        return None
    unit, equals, range_set = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    return specs[0] if len(specs) == 1 else None


def _suffix_range(length: int, *, size: int) -> ByteRange:
    if length == 0:
        return UNSATISFIABLE
    if size == 0:
        return None  # RFC 9110 §14.1.1: a suffix of an empty representation is the (empty) whole
    return max(size - length, 0), size - 1


def _int_range(first: int, last: int | None, *, size: int) -> ByteRange:
    if last is not None and last < first:
        return None  # invalid range-spec: ignore the header
    if first >= size:
        return UNSATISFIABLE
    return first, size - 1 if last is None else min(last, size - 1)


def content_range(start: int, end: int, size: int) -> str:
    """The ``Content-Range`` value of a 206 response, e.g. ``bytes 0-99/1000`` (RFC 9110 §14.4)."""
    return f"bytes {start}-{end}/{size}"


def unsatisfied_content_range(size: int) -> str:
    """The ``Content-Range`` value of a 416 response, ``bytes */<size>`` (RFC 9110 §14.4)."""
    return f"bytes */{size}"
