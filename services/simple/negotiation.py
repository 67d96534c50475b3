"""Content negotiation for the simple API (STANDARDS NEG-1..NEG-6, PEP 691).

Pure functions: routes pass the raw ``Accept`` header and the ``format`` query
parameter, get back the concrete media type to serve (and to name in
``Content-Type``, NEG-2), or a :class:`~shared.errors.NotAcceptableError` (406,
NEG-5).  No HTTP framework is imported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from shared.errors import NotAcceptableError

JSON_V1: Final = "application/vnd.pypi.simple.v1+json"
HTML_V1: Final = "application/vnd.pypi.simple.v1+html"
TEXT_HTML: Final = "text/html"
JSON_LATEST: Final = "application/vnd.pypi.simple.latest+json"
HTML_LATEST: Final = "application/vnd.pypi.simple.latest+html"

#: The served types, in the NEG-4 order used when a tied type was named explicitly.
SUPPORTED_MEDIA_TYPES: Final = (JSON_V1, HTML_V1, TEXT_HTML)
#: NEG-4: when every tied type matched only through wildcards, HTML wins.
_WILDCARD_PREFERENCE: Final = (TEXT_HTML, HTML_V1, JSON_V1)
#: NEG-2: ``latest`` is answered with the v1 type.
_ALIASES: Final = {JSON_LATEST: JSON_V1, HTML_LATEST: HTML_V1}

_TOKEN = r"[!#$%&'*+.^_`|~0-9a-z-]+"
_MEDIA_RANGE = re.compile(rf"({_TOKEN})/({_TOKEN})", re.ASCII)
#: NEG-3: 0 to 1 with at most three decimals (RFC 9110 ``qvalue``).
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?", re.ASCII)

_SPECIFIC: Final = 2
_SUBTYPE_WILDCARD: Final = 1
_FULL_WILDCARD: Final = 0


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One element of an ``Accept`` header (NEG-3); ``latest`` aliases already mapped to v1."""

    type: str
    subtype: str
    quality: float

    @property
    def specificity(self) -> int:
        """2 for ``type/subtype``, 1 for ``type/*``, 0 for ``*/*`` (NEG-3 "most specific")."""
        if self.type == "*":
            return _FULL_WILDCARD
        if self.subtype == "*":
            return _SUBTYPE_WILDCARD
        return _SPECIFIC

    def matches(self, media_type: str) -> bool:
        """Whether this range covers ``media_type`` (a lower-case ``type/subtype``)."""
        type_, _, subtype = media_type.partition("/")
        if self.type == "*":
            return True
        return self.type == type_ and self.subtype in ("*", subtype)


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an ``Accept`` header into media ranges, keeping header order (NEG-3).

    Elements that are not a valid ``type/subtype`` or carry an invalid ``q``
    (outside 0 to 1, more than three decimals) are dropped.  Parameters other than
    ``q`` are ignored.  No header, an empty one, or one with no valid element
    means ``*/*``.
    """
    ranges = [r for r in map(_parse_element, (header or "").split(",")) if r is not None]
    return ranges or [MediaRange("*", "*", 1.0)]


def _parse_element(element: str) -> MediaRange | None:
    media, *params = element.split(";")
    match = _MEDIA_RANGE.fullmatch(media.strip().lower())
    if match is None:
        return None
    type_, subtype = match.groups()
    if type_ == "*" and subtype != "*":
        return None
    quality = _parse_quality(params)
    if quality is None:
        return None
    full = _ALIASES.get(f"{type_}/{subtype}", f"{type_}/{subtype}")
    type_, _, subtype = full.partition("/")
    return MediaRange(type_, subtype, quality)


def _parse_quality(params: list[str]) -> float | None:
    """The ``q`` weight (default 1), or ``None`` when it is malformed."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else None
    return 1.0


def choose_media_type(accept: str | None, *, format_param: str | None = None) -> str:
    """Pick the media type to serve for a simple API page (NEG-2..NEG-6).

    ``format_param`` (the ``?format=`` query value, NEG-6) overrides ``Accept``;
    an unknown value is refused.  Otherwise the highest-quality supported type
    wins, with the NEG-4 tie rule.  Always returns one of
    :data:`SUPPORTED_MEDIA_TYPES`, never a ``latest`` alias (NEG-2).

    Raises:
        NotAcceptableError: nothing supported is acceptable (NEG-5, 406).
    """
    chosen = _choose_cached(accept, format_param)
    if chosen is None:
        raise _not_acceptable()
    return chosen


@lru_cache(maxsize=256)
def _choose_cached(accept: str | None, format_param: str | None) -> str | None:
    # Clients send a handful of distinct headers (pip's, uv's, browsers'), so the parse is cached.
    if format_param is not None:
        return _from_format_param(format_param)
    return _negotiate(parse_accept(accept))


def _from_format_param(value: str) -> str | None:
    media_type = value.strip().lower()
    media_type = _ALIASES.get(media_type, media_type)
    return media_type if media_type in SUPPORTED_MEDIA_TYPES else None


def _negotiate(ranges: list[MediaRange]) -> str | None:
    weights = {t: _weight(t, ranges) for t in SUPPORTED_MEDIA_TYPES}
    best = max(quality for quality, _ in weights.values())
    if best <= 0:
        return None
    tied = [t for t, (quality, _) in weights.items() if quality == best]
    explicit = [t for t in tied if weights[t][1]]
    if explicit:
        return explicit[0]
    return next(t for t in _WILDCARD_PREFERENCE if t in tied)


def _weight(media_type: str, ranges: list[MediaRange]) -> tuple[float, bool]:
    """(quality, named explicitly) of ``media_type``: the most specific matching range decides (NEG-3).

    Several equally specific ranges (``text/html;q=0.2, text/html;q=0.5``) give their highest q.
    An unmatched type has quality 0.
    """
    matching = [r for r in ranges if r.matches(media_type)]
    if not matching:
        return 0.0, False
    specificity = max(r.specificity for r in matching)
    quality = max(r.quality for r in matching if r.specificity == specificity)
    return quality, specificity == _SPECIFIC


def _not_acceptable() -> NotAcceptableError:
    supported = ", ".join(SUPPORTED_MEDIA_TYPES)
    return NotAcceptableError(
        f"No acceptable media type; this index serves: {supported}",
        details={"supported": list(SUPPORTED_MEDIA_TYPES)},
    )
