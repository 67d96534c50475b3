"""Storage and the query plan both SQL engines share; each engine's subclass writes the SQL of each step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, text

from shared.db import Database
from shared.names import normalize_name
from shared.schema.base import UTCDateTime
from shared.schema.search_document import SearchEntry
from shared.search.base import (
    TOTAL_CAP,
    ParsedQuery,
    SearchDocument,
    SearchHit,
    SearchResults,
    SortOrder,
    check_paging,
    classifier_paths,
    indexable_description,
    parse_query,
)

REBUILD_BATCH = 500
COLUMNS = "d.name, d.display_name, d.version, d.summary, d.updated"
_UPDATABLE = ("display_name", "version", "summary", "keywords", "description", "classifiers",
              "classifier_paths", "classifier_tokens", "updated")


def _row(document: SearchDocument) -> dict[str, Any]:
    return {
        "name": normalize_name(document.name), "display_name": document.display_name, "version": document.version,
        "summary": document.summary, "keywords": document.keywords,
        "description": indexable_description(document.description), "classifiers": list(document.classifiers),
        "classifier_paths": (paths := classifier_paths(document.classifiers)),
        "classifier_tokens": " ".join(classifier_token(path) for path in paths.split("\n") if path),
        "updated": document.updated,
    }


def classifier_token(path: str) -> str:
    """A classifier path as one word of the full-text index: the hex of its UTF-8 bytes.

    One token per path of ``classifier_paths`` (each classifier and its parents), so a document has
    the token of "Framework :: Django" exactly when the substring test for "\\nFramework :: Django\\n"
    holds: the same filter, answered by the text index.  Migration 0005 computes the same in SQL.
    """
    return path.encode().hex()


def filter_tokens(parsed: ParsedQuery) -> list[str]:
    """The token of each filter classifier (``ParsedQuery.classifiers`` are "\\n<classifier>\\n")."""
    return [classifier_token(needle.strip("\n")) for needle in parsed.classifiers]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: dict[str, Any]


class SqlSearchIndex(ABC):
    """Storage and the query plan shared by both engines; subclasses write each step's SQL."""

    _insert: Any  # the dialect's ``insert`` construct, for ON CONFLICT
    _instr: str  # the engine's substring-position function, for the default ``_filters``

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, document: SearchDocument) -> None:
        statement = self._insert(SearchEntry).values(_row(document))
        statement = statement.on_conflict_do_update(
            index_elements=["name"], set_={column: statement.excluded[column] for column in _UPDATABLE}
        )
        async with self.db.write_session() as session:
            await session.execute(statement)
            await session.commit()

    async def delete(self, name: str) -> None:
        async with self.db.write_session() as session:
            await session.execute(delete(SearchEntry).where(SearchEntry.name == normalize_name(name)))
            await session.commit()

    async def rebuild(self, documents: AsyncIterable[SearchDocument]) -> int:
        """Replace everything in one transaction: readers see the old index until the commit."""
        count = 0
        async with self.db.write_session() as session:
            await session.execute(delete(SearchEntry))
            batch: dict[str, dict[str, Any]] = {}
            async for document in documents:
                row = _row(document)
                batch[row["name"]] = row  # a name twice: the later document wins, as with upsert
                if len(batch) >= REBUILD_BATCH:
                    count += await self._insert_batch(session, batch)
            count += await self._insert_batch(session, batch)
            await session.commit()
        return count

    async def _insert_batch(self, session: Any, batch: dict[str, dict[str, Any]]) -> int:
        if not batch:
            return 0
        statement = self._insert(SearchEntry)
        statement = statement.on_conflict_do_update(
            index_elements=["name"], set_={column: statement.excluded[column] for column in _UPDATABLE}
        )
        await session.execute(statement, list(batch.values()))
        count = len(batch)
        batch.clear()
        return count

    async def search(
        self,
        query: str,
        *,
        classifiers: Sequence[str] = (),
        offset: int = 0,
        limit: int = 20,
        sort: SortOrder = "relevance",
    ) -> SearchResults:
        check_paging(offset=offset, limit=limit)
        parsed = parse_query(query, classifiers)
        if parsed.is_empty:
            return SearchResults(hits=[], total=0)
        async with self.db.read_session() as session:
            if not parsed.words:
                return await self._classifiers_only(session, parsed, offset=offset, limit=limit, sort=sort)
            return await self._words(session, parsed, offset=offset, limit=limit, sort=sort)

    async def _classifiers_only(self, session: Any, parsed: ParsedQuery, *, offset: int, limit: int,
                                sort: SortOrder) -> SearchResults:
        where, params = self._filters(parsed)
        counting = f"SELECT count(*) FROM (SELECT 1 FROM search_documents AS d WHERE {where} LIMIT :cap) AS m"
        order = "d.name" if sort == "relevance" else "d.updated DESC, d.name"
        page = Statement(f"SELECT {COLUMNS}, 0.0 AS score FROM search_documents AS d WHERE {where} "
                          f"ORDER BY {order} LIMIT :limit OFFSET :offset", {**params, "limit": limit, "offset": offset})
        total = await fetch_scalar(session, Statement(counting, {**params, "cap": TOTAL_CAP}))
        return SearchResults(hits=[_hit(row) for row in await fetch_rows(session, page)], total=total)

    async def _words(self, session: Any, parsed: ParsedQuery, *, offset: int, limit: int,
                     sort: SortOrder) -> SearchResults:
        n = offset + limit
        matched = await self._count_text(session, parsed)
        complete = matched < TOTAL_CAP  # then the total adds the name matches that are not text matches
        if not (n or complete):
            return SearchResults(hits=[], total=TOTAL_CAP)
        if sort == "relevance":
            names, text_rows = await self._by_relevance(session, parsed, n=n, matched=matched, complete=complete)
        else:
            names, text_rows = await self._by_date(session, parsed, n=n, matched=matched, complete=complete)
        total = min(TOTAL_CAP, matched + await self._outside_text(session, parsed, names)) if complete else TOTAL_CAP
        return SearchResults(hits=_page([*names, *text_rows], sort=sort, offset=offset, limit=limit), total=total)

    async def _by_relevance(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int,
                            complete: bool) -> tuple[list[Any], list[Any]]:
        """The name tiers, then each tier below only when the page reaches it (or the total needs it)."""
        limit = None if complete else n
        names = await fetch_rows(session, self._name_matches(parsed, tiers=("exact", "prefix"), since=None, n=limit))
        if complete or distinct_names(names) < n:
            names += await fetch_rows(session, self._name_matches(parsed, tiers=("fuzzy",), since=None, n=limit))
        text_rows: list[Any] = []
        if matched and distinct_names(names) < n:
            name_first = self._text_ranked(parsed, n=n, name_first=True)
            text_rows = await fetch_rows(session, name_first) if name_first else []
            if len(text_rows) < n:
                text_rows += await fetch_rows(session, self._text_ranked(parsed, n=n, name_first=False))
        return names, text_rows

    async def _by_date(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int,
                       complete: bool) -> tuple[list[Any], list[Any]]:
        """The newest text matches, then the name matches that can still reach the page: unless the
        total needs them all, those at least as new as the n-th text match."""
        text_rows = await self._text_newest(session, parsed, n=n, matched=matched) if matched and n else []
        since = text_rows[n - 1].updated if not complete and len(text_rows) >= n else None
        names = await fetch_rows(session, self._name_matches(parsed, tiers=("exact", "prefix", "fuzzy"), since=since,
                                                       n=None))
        return names, text_rows

    def _filters(self, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
        """The classifier filter on a document ``d``: the substring test of ``classifier_paths``."""
        clauses = [f"{self._instr}(d.classifier_paths, :classifier_{i}) > 0" for i in range(len(parsed.classifiers))]
        return " AND ".join(clauses) or "1 = 1", {f"classifier_{i}": c for i, c in enumerate(parsed.classifiers)}

    @abstractmethod
    async def _count_text(self, session: Any, parsed: ParsedQuery) -> int:
        """The number of filtered text matches, counted up to ``TOTAL_CAP``."""

    @abstractmethod
    def _text_ranked(self, parsed: ParsedQuery, *, n: int, name_first: bool) -> Statement | None:
        """The ``n`` best filtered text matches by (score DESC, name).

        With ``name_first`` only those whose name holds every word, scored above all others (None:
        no index finds them, and the full ranking puts them first); else all of them.
        """

    @abstractmethod
    async def _text_newest(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int) -> list[Any]:
        """The ``n`` newest filtered text matches by (updated DESC, name), scored ``TIER_TEXT``."""

    @abstractmethod
    def _name_matches(self, parsed: ParsedQuery, *, tiers: tuple[str, ...], since: datetime | None,
                      n: int | None) -> Statement:
        """The filtered matches of the given name tiers with their best name-tier score: all of them,
        or those updated at ``since`` or later, or at least each tier's ``n`` best."""

    @abstractmethod
    async def _outside_text(self, session: Any, parsed: ParsedQuery, names: list[Any]) -> int:
        """How many distinct names among the name matches are not text matches."""

    async def aclose(self) -> None:
        """The database belongs to the caller; nothing of ours to close."""


def _args(statement: Statement) -> tuple[Any, dict[str, Any]]:
    sql = text(statement.sql)
    if "ids" in statement.params:
        sql = sql.bindparams(bindparam("ids", expanding=True))
    if "since" in statement.params:
        sql = sql.bindparams(bindparam("since", type_=UTCDateTime))
    return sql, statement.params


async def fetch_scalar(session: Any, statement: Statement) -> Any:
    return (await session.execute(*_args(statement))).scalar_one()


async def fetch_rows(session: Any, statement: Statement) -> list[Any]:
    """Rows with the hit's columns and ``score`` (and whatever else the statement selects)."""
    sql, params = _args(statement)
    return list((await session.execute(sql.columns(updated=UTCDateTime), params)).all())


async def fetch_plain(session: Any, statement: Statement) -> list[Any]:
    return list((await session.execute(*_args(statement))).all())


def distinct_names(rows: list[Any]) -> int:
    return len({row.name for row in rows})


def _hit(row: Any) -> SearchHit:
    return SearchHit(name=row.name, display_name=row.display_name, version=row.version, summary=row.summary,
                     updated=row.updated, score=float(row.score))


def _page(rows: list[Any], *, sort: SortOrder, offset: int, limit: int) -> list[SearchHit]:
    """Each name's best row, in the page's order: (score DESC, name) or (updated DESC, name)."""
    best: dict[str, SearchHit] = {}
    for row in rows:
        if row.name not in best or float(row.score) > best[row.name].score:
            best[row.name] = _hit(row)
    hits = sorted(best.values(), key=lambda h: (-h.score, h.name) if sort == "relevance" else h.name)
    if sort != "relevance":
        hits.sort(key=lambda h: h.updated, reverse=True)  # stable: equal dates stay by name
    return hits[offset:offset + limit]

