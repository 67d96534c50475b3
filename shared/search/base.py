"""The search Protocol, its value types, and the query rules every backend shares.

Ranking is in tiers, the same on every backend; a hit's ``score`` is
``tier * 1000 + a within-tier score in [0, 1)``:

4. exact name: ``normalize_name(query)`` (or the query's words joined by "-") is the name;
3. name prefix: shorter names first;
2. fuzzy name: trigram similarity of at least ``FUZZY_THRESHOLD`` (typos);
1. full text: every word of the query (as a prefix) somewhere in name, summary,
   keywords or description, weighted name > summary > keywords > description.

A query is only ever plain words: ``[^\\W_]+`` runs, lower-cased, so no engine
syntax (FTS5 or tsquery operators, LIKE wildcards, quotes) can reach an engine.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from shared.names import normalize_name

SortOrder = Literal["relevance", "-updated"]

DESCRIPTION_LIMIT_BYTES = 64 * 1024
MAX_WORDS = 16
MAX_WORD_CHARS = 64
FUZZY_MIN_CHARS = 3
FUZZY_MAX_CHARS = 64
FUZZY_THRESHOLD = 0.3  # pg_trgm's default similarity threshold
TIER_EXACT, TIER_PREFIX, TIER_FUZZY, TIER_TEXT = 4000.0, 3000.0, 2000.0, 1000.0
TOTAL_CAP = 10_000  # totals are counted this far and no further: the API pages no deeper either

_WORD = re.compile(r"[^\W_]+")
_CLASSIFIER_SEPARATOR = "::"


@dataclass(frozen=True)
class SearchDocument:
    name: str  # normalised project name (shared.names.normalize_name), the key
    display_name: str
    version: str  # the latest non-yanked, non-prerelease release
    summary: str
    keywords: str
    description: str  # plain text; at most the first 64 KiB is indexed
    classifiers: tuple[str, ...]
    updated: datetime  # aware UTC


@dataclass(frozen=True)
class SearchHit:
    name: str
    display_name: str
    version: str
    summary: str
    updated: datetime
    score: float


@dataclass(frozen=True)
class SearchResults:
    """A page of hits and the number of matches.

    ``total`` counts every match before paging, but only up to ``TOTAL_CAP``: a
    total of ``TOTAL_CAP`` means "that many or more" (show it as "10,000+"), as
    search engines report it.  Counting a common word's every match was most of
    a query's cost, and no page reaches past the cap.
    """

    hits: list[SearchHit]
    total: int  # matches before paging, at most TOTAL_CAP


class SearchIndex(Protocol):
    async def upsert(self, document: SearchDocument) -> None: ...

    async def delete(self, name: str) -> None: ...

    async def search(
        self,
        query: str,
        *,
        classifiers: Sequence[str] = (),
        offset: int = 0,
        limit: int = 20,
        sort: SortOrder = "relevance",
    ) -> SearchResults: ...

    async def rebuild(self, documents: AsyncIterable[SearchDocument]) -> int: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ParsedQuery:
    """What a backend needs from the user's query; every field is bound as a parameter."""

    words: tuple[str, ...]
    exact_names: tuple[str, str]
    name_key: str  # the words joined by "-": a normalised-name-shaped string ("" when no words)
    classifiers: tuple[str, ...]  # "\n<classifier>\n" needles

    @property
    def is_empty(self) -> bool:
        return not self.words and not self.classifiers

    @property
    def fuzzy(self) -> bool:
        return FUZZY_MIN_CHARS <= len(self.name_key) <= FUZZY_MAX_CHARS


def parse_query(query: str, classifiers: Sequence[str] = ()) -> ParsedQuery:
    query = _bindable(query)
    words = tuple(w[:MAX_WORD_CHARS] for w in _WORD.findall(query.lower())[:MAX_WORDS])
    key = "-".join(words)
    needles = tuple(f"\n{c}\n" for c in (_canonical_classifier(_bindable(c)) for c in classifiers) if c)
    return ParsedQuery(words=words, exact_names=(normalize_name(query.strip()), key), name_key=key,
                       classifiers=needles)


def _bindable(value: str) -> str:
    """Without NUL (Postgres refuses it in text) and lone surrogates (no driver can encode them)."""
    return value.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")


def _canonical_classifier(classifier: str) -> str:
    """Spacing around "::" does not matter; a newline can never be part of a classifier."""
    parts = classifier.replace("\n", " ").replace("\r", " ").split(_CLASSIFIER_SEPARATOR)
    return f" {_CLASSIFIER_SEPARATOR} ".join(part.strip() for part in parts).strip()


def classifier_paths(classifiers: Sequence[str]) -> str:
    """Each classifier and all its parents, one a line, framed by newlines.

    "\\nFramework :: Django\\n" is then a substring exactly when the document has
    that classifier or one below it; a newline inside a classifier is dropped so
    that a needle can never span two lines.
    """
    paths: set[str] = set()
    for classifier in filter(None, map(_canonical_classifier, classifiers)):
        parts = classifier.split(f" {_CLASSIFIER_SEPARATOR} ")
        paths.update(f" {_CLASSIFIER_SEPARATOR} ".join(parts[:i]) for i in range(1, len(parts) + 1))
    return "".join(f"\n{path}" for path in sorted(paths)) + "\n"


def indexable_description(description: str) -> str:
    """At most the first 64 KiB (UTF-8) of the description, cut on a character boundary."""
    return description.encode()[:DESCRIPTION_LIMIT_BYTES].decode("utf-8", "ignore")


def name_trigrams(key: str) -> tuple[str, ...]:
    """The distinct trigrams of ``"  key "``: padded as pg_trgm pads a word, and as the SQLite name index stores names."""
    padded = f"  {key} "
    return tuple(dict.fromkeys(padded[i:i + 3] for i in range(len(padded) - 2)))


def check_paging(*, offset: int, limit: int) -> None:
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")
