"""The SQL search backends: SQLite FTS5 and Postgres full text + pg_trgm.

Both keep their documents in the ``search_documents`` table (``SearchEntry``);
they differ only in how a query is matched and scored, and each is the
repository for its engine: all search SQL lives here, every value bound.

Classifier filtering: ``classifier_paths`` holds every classifier and each of
its parents framed by newlines, and a filter is a plain substring test for
``"\\n<classifier>\\n"`` (``instr`` / ``strpos``).  Chosen over a child table
because it is one indexed-row read on both engines with no join and no LIKE
wildcard escaping, and parent matching ("Framework :: Django" matches
"Framework :: Django :: 4.2", "Framework :: Dj" does not) falls out of the
framing.  Several classifiers are ANDed.

SQLite: ``search_fts`` (FTS5, unicode61, columns name/summary/keywords/
description, ranked by ``bm25`` with weights 1000/100/10/1) and ``search_names``
(FTS5 ``trigram`` over "  name ", padded as pg_trgm pads a word, used for prefix ``LIKE`` and for fuzzy
matching: the number of the query's trigrams found in a name, one indexed
MATCH per trigram, gives a pg_trgm-style similarity).  Triggers on
``search_documents`` keep both in step, keyed by name rather than the table's
rowid, which VACUUM may renumber.

Postgres: a generated weighted ``tsvector`` (A name, B summary, C keywords,
D description) with a GIN index, ranked by ``ts_rank``; ``similarity()`` from
pg_trgm (GIN ``gin_trgm_ops`` index, ``%`` operator) for fuzzy names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Sequence
from typing import Any

from sqlalchemy import Float, String, TextClause, delete, text
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import Database
from shared.names import normalize_name
from shared.schema.base import UTCDateTime
from shared.schema.search_document import SearchEntry
from shared.search.base import (
    FUZZY_THRESHOLD,
    TIER_EXACT,
    TIER_FUZZY,
    TIER_PREFIX,
    TIER_TEXT,
    ParsedQuery,
    SearchDocument,
    SearchHit,
    SearchIndex,
    SearchResults,
    SortOrder,
    check_paging,
    classifier_paths,
    indexable_description,
    name_trigrams,
    parse_query,
)

REBUILD_BATCH = 500
_HIT_COLUMNS = {"name": String, "display_name": String, "version": String, "summary": String,
                "updated": UTCDateTime, "score": Float}
_ORDER = {"relevance": "score DESC, name ASC", "-updated": "updated DESC, name ASC"}
_UPDATABLE = ("display_name", "version", "summary", "keywords", "description", "classifiers",
              "classifier_paths", "updated")


def _row(document: SearchDocument) -> dict[str, Any]:
    return {
        "name": normalize_name(document.name), "display_name": document.display_name, "version": document.version,
        "summary": document.summary, "keywords": document.keywords,
        "description": indexable_description(document.description), "classifiers": list(document.classifiers),
        "classifier_paths": classifier_paths(document.classifiers), "updated": document.updated,
    }


class _SqlSearchIndex(ABC):
    """Storage shared by both engines; subclasses say how to match and score."""

    _insert: Any  # the dialect's ``insert`` construct, for ON CONFLICT

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
        matches, params = self._matches(parsed)
        page = text(f"SELECT * FROM ({matches}) AS m ORDER BY {_ORDER[sort]} LIMIT :limit OFFSET :offset").columns(**_HIT_COLUMNS)
        counting = text(f"SELECT count(*) FROM ({matches}) AS matches")
        async with self.db.read_session() as session:
            total = (await session.execute(counting, params)).scalar_one()
            rows = (await session.execute(page, {**params, "limit": limit, "offset": offset})).all()
        hits = [SearchHit(name=r.name, display_name=r.display_name, version=r.version, summary=r.summary,
                          updated=r.updated, score=float(r.score)) for r in rows]
        return SearchResults(hits=hits, total=total)

    @abstractmethod
    def _matches(self, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
        """A SELECT of (name, display_name, version, summary, updated, score) and its parameters."""

    async def aclose(self) -> None:
        """The database belongs to the caller; nothing of ours to close."""


def _classifier_filter(parsed: ParsedQuery, *, function: str) -> tuple[list[str], dict[str, Any]]:
    clauses = [f"{function}(d.classifier_paths, :classifier_{i}) > 0" for i in range(len(parsed.classifiers))]
    return clauses, {f"classifier_{i}": needle for i, needle in enumerate(parsed.classifiers)}


class SqliteSearchIndex(_SqlSearchIndex):
    _insert = staticmethod(sqlite.insert)

    def _matches(self, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
        filters, params = _classifier_filter(parsed, function="instr")
        where = " AND ".join(filters) or "1 = 1"
        columns = "d.name, d.display_name, d.version, d.summary, d.updated"
        if not parsed.words:
            return f"SELECT {columns}, 0.0 AS score FROM search_documents AS d WHERE {where}", params
        trigrams = name_trigrams(parsed.name_key) if parsed.fuzzy else ()
        fuzzy_union = " UNION ALL ".join(
            f"SELECT name FROM search_names WHERE search_names MATCH :trigram_{i}" for i in range(len(trigrams))
        ) or "SELECT NULL AS name WHERE 0"
        params.update({f"trigram_{i}": _fts_string(t) for i, t in enumerate(trigrams)})
        params.update(
            exact_0=parsed.exact_names[0], exact_1=parsed.exact_names[1], prefix=f"  {parsed.name_key}%",
            query_trigrams=len(trigrams), threshold=FUZZY_THRESHOLD,
            text_query=" AND ".join(f"{_fts_string(word)}*" for word in parsed.words),
        )
        # Every source yields (name, score) rows; the best score per name wins. Tiers are 1000 apart and
        # each within-tier part is below 1, so max() ranks exact > prefix > fuzzy > text, and the only
        # join is to search_documents by its primary key (joining the sources to each other would be
        # a nested scan per row: seconds at 100,000 documents).
        sql = f"""
            WITH shared_trigrams AS (
                SELECT trim(name) AS name, count(*) AS shared FROM ({fuzzy_union}) GROUP BY name),
            scored AS (
                SELECT name, {TIER_EXACT} AS score FROM search_documents WHERE name IN (:exact_0, :exact_1)
                UNION ALL
                SELECT trim(name), {TIER_PREFIX} + 1.0 / (1 + length(trim(name)))
                FROM search_names WHERE name LIKE :prefix
                UNION ALL
                SELECT name, {TIER_FUZZY} + similarity * 0.999 FROM (
                    SELECT name, shared * 1.0 / (:query_trigrams + length(name) + 1 - shared) AS similarity
                    FROM shared_trigrams) WHERE similarity >= :threshold
                UNION ALL
                SELECT name, {TIER_TEXT} + rank / (1.0 + rank) FROM (
                    SELECT name, -bm25(search_fts, 1000.0, 100.0, 10.0, 1.0) AS rank
                    FROM search_fts WHERE search_fts MATCH :text_query)),
            best AS (SELECT name, max(score) AS score FROM scored GROUP BY name)
            SELECT {columns}, b.score AS score
            FROM best AS b JOIN search_documents AS d ON d.name = b.name
            WHERE {where}"""
        return sql, params


def _fts_string(value: str) -> str:
    """An FTS5 string literal: the value in double quotes, inner quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


class PostgresSearchIndex(_SqlSearchIndex):
    _insert = staticmethod(postgresql.insert)

    def _matches(self, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
        filters, params = _classifier_filter(parsed, function="strpos")
        columns = "d.name, d.display_name, d.version, d.summary, d.updated"
        if not parsed.words:
            where = " AND ".join(filters)
            return f"SELECT {columns}, 0.0::float8 AS score FROM search_documents AS d WHERE {where}", params
        # Words are [^\W_]+ runs: quoting them is enough to keep tsquery syntax out.
        params.update(
            exact_0=parsed.exact_names[0], exact_1=parsed.exact_names[1], prefix=f"{parsed.name_key}%",
            key=parsed.name_key, threshold=FUZZY_THRESHOLD,
            tsquery=" & ".join(f"'{word}':*" for word in parsed.words),
        )
        fuzzy = "(d.name % CAST(:key AS text) AND similarity(d.name, CAST(:key AS text)) >= :threshold)" \
            if parsed.fuzzy else "false"
        matched = ("(d.name IN (:exact_0, :exact_1) OR d.name LIKE CAST(:prefix AS text) OR "
                   f"{fuzzy} OR d.search_vector @@ q.query)")
        where = " AND ".join([matched, *filters])
        sql = f"""
            SELECT {columns}, CASE
                    WHEN d.name IN (:exact_0, :exact_1) THEN {TIER_EXACT}
                    WHEN d.name LIKE CAST(:prefix AS text) THEN {TIER_PREFIX} + 1.0 / (1 + length(d.name))
                    WHEN {fuzzy} THEN {TIER_FUZZY} + similarity(d.name, CAST(:key AS text)) * 0.999
                    ELSE {TIER_TEXT} + ts_rank(CAST('{{0.001, 0.01, 0.1, 1.0}}' AS float4[]), d.search_vector, q.query, 32)
                END::float8 AS score
            FROM search_documents AS d, (SELECT to_tsquery('simple', CAST(:tsquery AS text)) AS query) AS q
            WHERE {where}"""
        return sql, params
