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

Bounded work.  A common word ("python") matches most of the index, and scoring,
counting or sorting every match took seconds at 100,000 projects.  A query now
takes, per source, only the ``n = offset + limit`` best rows and merges them in
Python (the best n of a union are among the best n of each part; ties go by
name everywhere, so pages stay stable):

* ``total`` is counted up to ``TOTAL_CAP`` (``SearchResults``).  Under the cap the
  name matches that are not text matches are added exactly; at the cap, none is.
* By relevance, the tiers are read top down and a lower one only when the page
  reaches it (or the total needs it): exact and prefix names from the primary key
  (a prefix is a key range on SQLite) or the trigram index, fuzzy names, then
  text.  The text tier itself comes in two parts: matches whose *name* holds every
  word rank first (found through the name's index: the FTS5 ``{name}`` column
  filter, ranked by the name's bm25; or the trigram index on Postgres for words
  of three characters or more, ranked by ts_rank), and all matches are ranked (bm25 / ts_rank over every one) only when
  that part cannot fill n.
* Newest first reads the n newest text matches from the ``updated`` index: on
  Postgres by walking it (or sorting the matches when they are few), on SQLite
  in batches of newest documents whose names are looked up among the matches.
  Then only name matches at least as new as the n-th can still enter the page.
  Text hits sorted by date carry the bare tier as their score: no rank is computed.

On SQLite, the FTS tables share no key with ``search_documents`` (see above), so
a text match reaches its document by name, through FTS5's content table of
``search_names`` (``search_names_content``: ``id`` is the FTS rowid, ``c0`` the
padded name) read as the plain table it is: many times cheaper than the same
rows through the virtual table.  The newest-first batches scan it from its last
row down, where recently written documents are (each write gives a document new
FTS rows), and stop once the batch is found.

What stays costly: a classifier filter on a broad query (every counted match is
joined to its document to test the filter: up to ``TOTAL_CAP`` / the filter's
share of rows), and a page that the name-first part of the text tier cannot fill.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, text
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
    TOTAL_CAP,
    ParsedQuery,
    SearchDocument,
    SearchHit,
    SearchResults,
    SortOrder,
    check_paging,
    classifier_paths,
    indexable_description,
    name_trigrams,
    parse_query,
)

REBUILD_BATCH = 500
# Newest first on Postgres walks the ``updated`` index when at least one row in WALK_DENSITY matches
# (about offset + limit × WALK_DENSITY rows read), and sorts the matches otherwise.
WALK_DENSITY = 50
# Newest first on SQLite, with TOTAL_CAP text matches or more: documents read a batch at a time.
NEWEST_BATCH, NEWEST_BATCH_MAX = 200, 20_000
_COLUMNS = "d.name, d.display_name, d.version, d.summary, d.updated"
_BM25 = "bm25(search_fts, 1000.0, 100.0, 10.0, 1.0)"
# An FTS row's document: through the name in FTS5's content table of search_names (which shares
# search_fts' rowid), read as a plain table: far cheaper than the same column through the virtual table.
_DOCUMENT = ("JOIN search_names_content AS c ON c.id = search_fts.rowid "
             "JOIN search_documents AS d ON d.name = trim(c.c0)")
_UPDATABLE = ("display_name", "version", "summary", "keywords", "description", "classifiers",
              "classifier_paths", "updated")


def _row(document: SearchDocument) -> dict[str, Any]:
    return {
        "name": normalize_name(document.name), "display_name": document.display_name, "version": document.version,
        "summary": document.summary, "keywords": document.keywords,
        "description": indexable_description(document.description), "classifiers": list(document.classifiers),
        "classifier_paths": classifier_paths(document.classifiers), "updated": document.updated,
    }


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: dict[str, Any]


class _SqlSearchIndex(ABC):
    """Storage and the query plan shared by both engines; subclasses write each step's SQL."""

    _insert: Any  # the dialect's ``insert`` construct, for ON CONFLICT
    _instr: str  # the engine's substring-position function

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
        page = _Statement(f"SELECT {_COLUMNS}, 0.0 AS score FROM search_documents AS d WHERE {where} "
                          f"ORDER BY {order} LIMIT :limit OFFSET :offset", {**params, "limit": limit, "offset": offset})
        total = await _scalar(session, _Statement(counting, {**params, "cap": TOTAL_CAP}))
        return SearchResults(hits=[_hit(row) for row in await _rows(session, page)], total=total)

    async def _words(self, session: Any, parsed: ParsedQuery, *, offset: int, limit: int,
                     sort: SortOrder) -> SearchResults:
        n = offset + limit
        matched = await _scalar(session, self._count_text(parsed))
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
        names = await _rows(session, self._name_matches(parsed, tiers=("exact", "prefix"), since=None, n=limit))
        if complete or _distinct(names) < n:
            names += await _rows(session, self._name_matches(parsed, tiers=("fuzzy",), since=None, n=limit))
        text_rows: list[Any] = []
        if matched and _distinct(names) < n:
            name_first = self._text_ranked(parsed, n=n, name_first=True)
            text_rows = await _rows(session, name_first) if name_first else []
            if len(text_rows) < n:
                text_rows += await _rows(session, self._text_ranked(parsed, n=n, name_first=False))
        return names, text_rows

    async def _by_date(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int,
                       complete: bool) -> tuple[list[Any], list[Any]]:
        """The newest text matches, then the name matches that can still reach the page: unless the
        total needs them all, those at least as new as the n-th text match."""
        text_rows = await self._text_newest(session, parsed, n=n, matched=matched) if matched and n else []
        since = text_rows[n - 1].updated if not complete and len(text_rows) >= n else None
        names = await _rows(session, self._name_matches(parsed, tiers=("exact", "prefix", "fuzzy"), since=since,
                                                       n=None))
        return names, text_rows

    def _filters(self, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
        clauses = [f"{self._instr}(d.classifier_paths, :classifier_{i}) > 0" for i in range(len(parsed.classifiers))]
        return " AND ".join(clauses) or "1 = 1", {f"classifier_{i}": c for i, c in enumerate(parsed.classifiers)}

    @abstractmethod
    def _count_text(self, parsed: ParsedQuery) -> _Statement:
        """The number of filtered text matches, counted up to ``TOTAL_CAP``."""

    @abstractmethod
    def _text_ranked(self, parsed: ParsedQuery, *, n: int, name_first: bool) -> _Statement | None:
        """The ``n`` best filtered text matches by (score DESC, name).

        With ``name_first`` only those whose name holds every word, scored above all others (None:
        no index finds them, and the full ranking puts them first); else all of them.
        """

    @abstractmethod
    async def _text_newest(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int) -> list[Any]:
        """The ``n`` newest filtered text matches by (updated DESC, name), scored ``TIER_TEXT``."""

    @abstractmethod
    def _name_matches(self, parsed: ParsedQuery, *, tiers: tuple[str, ...], since: datetime | None,
                      n: int | None) -> _Statement:
        """The filtered matches of the given name tiers with their best name-tier score: all of them,
        or those updated at ``since`` or later, or at least each tier's ``n`` best."""

    @abstractmethod
    async def _outside_text(self, session: Any, parsed: ParsedQuery, names: list[Any]) -> int:
        """How many distinct names among the name matches are not text matches."""

    async def aclose(self) -> None:
        """The database belongs to the caller; nothing of ours to close."""


def _args(statement: _Statement) -> tuple[Any, dict[str, Any]]:
    sql = text(statement.sql)
    if "ids" in statement.params:
        sql = sql.bindparams(bindparam("ids", expanding=True))
    if "since" in statement.params:
        sql = sql.bindparams(bindparam("since", type_=UTCDateTime))
    return sql, statement.params


async def _scalar(session: Any, statement: _Statement) -> Any:
    return (await session.execute(*_args(statement))).scalar_one()


async def _rows(session: Any, statement: _Statement) -> list[Any]:
    """Rows with the hit's columns and ``score`` (and whatever else the statement selects)."""
    sql, params = _args(statement)
    return list((await session.execute(sql.columns(updated=UTCDateTime), params)).all())


def _distinct(rows: list[Any]) -> int:
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


class SqliteSearchIndex(_SqlSearchIndex):
    _insert = staticmethod(sqlite.insert)
    _instr = "instr"

    def _count_text(self, parsed: ParsedQuery) -> _Statement:
        where, params = self._filters(parsed)
        sql = f"""SELECT count(*) FROM (SELECT 1 FROM search_fts {_DOCUMENT if parsed.classifiers else ""}
                  WHERE search_fts MATCH :text_query AND {where} LIMIT :cap) AS m"""
        return _Statement(sql, {**params, "text_query": _text_query(parsed), "cap": TOTAL_CAP})

    def _text_ranked(self, parsed: ParsedQuery, *, n: int, name_first: bool) -> _Statement | None:
        where, params = self._filters(parsed)
        query = _text_query(parsed)
        params.update(text_query=f"{{name}} : ({query})" if name_first else query, n=n)
        # rank = -bm25 >= 0 maps to rank / (1 + rank), written with one bm25 call; name-first matches
        # take [0.5, 1) of the tier, the rest [0, 0.5).
        score = f"{TIER_TEXT} + {0.5 if name_first else 0.0} + (1.0 - 1.0 / (1.0 - {_BM25})) / 2"
        if parsed.classifiers:  # the filter needs each match's document
            sql = f"""SELECT {_COLUMNS}, {score} AS score FROM search_fts {_DOCUMENT}
                      WHERE search_fts MATCH :text_query AND {where} ORDER BY score DESC, d.name LIMIT :n"""
        else:  # only the page's n are joined to their documents
            sql = f"""SELECT {_COLUMNS}, t.score AS score FROM (
                          SELECT trim(c.c0) AS name, {score} AS score FROM search_fts
                          JOIN search_names_content AS c ON c.id = search_fts.rowid
                          WHERE search_fts MATCH :text_query ORDER BY score DESC, name LIMIT :n) AS t
                      JOIN search_documents AS d ON d.name = t.name"""
        return _Statement(sql, params)

    async def _text_newest(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int) -> list[Any]:
        where, params = self._filters(parsed)
        params.update(text_query=_text_query(parsed))
        if matched < TOTAL_CAP:  # few: join each to its document and sort
            sql = f"""SELECT {_COLUMNS}, {TIER_TEXT} AS score FROM search_fts {_DOCUMENT}
                      WHERE search_fts MATCH :text_query AND {where} ORDER BY d.updated DESC, d.name LIMIT :n"""
            return await _rows(session, _Statement(sql, {**params, "n": n}))
        # Many: the newest documents in growing batches, each batch's names looked for among the text
        # matches.  A name has no index to its FTS row, so the names' content table is scanned for them,
        # from the newest FTS row down: each write gives a document new FTS rows, so the newest documents
        # are usually found among the last rows and the scan stops (at worst it reads the whole table).
        newest = f"""SELECT {_COLUMNS}, {TIER_TEXT} AS score FROM search_documents AS d WHERE {where}
                     ORDER BY d.updated DESC, d.name LIMIT :size OFFSET :skip"""
        matching = """WITH batch AS MATERIALIZED (
                          SELECT id, c0 FROM search_names_content WHERE c0 IN :ids ORDER BY id DESC LIMIT :size)
                      SELECT trim(c0) AS name FROM batch WHERE id IN (
                          SELECT rowid FROM search_fts
                          WHERE search_fts MATCH :text_query AND rowid >= (SELECT min(id) FROM batch))"""
        found: list[Any] = []
        skip, size = 0, min(max(2 * n, NEWEST_BATCH), NEWEST_BATCH_MAX)
        while len(found) < n:
            batch = await _rows(session, _Statement(newest, {**params, "size": size, "skip": skip}))
            if not batch:
                break
            padded = [f"  {row.name} " for row in batch]
            hits = await _rows_plain(session, _Statement(matching, {**params, "ids": padded, "size": len(padded)}))
            hits = {row.name for row in hits}
            found += [row for row in batch if row.name in hits]
            skip, size = skip + len(batch), min(2 * size, NEWEST_BATCH_MAX)
        return found[:n]

    def _name_matches(self, parsed: ParsedQuery, *, tiers: tuple[str, ...], since: datetime | None,
                      n: int | None) -> _Statement:
        where, params = self._filters(parsed)
        params.update(exact_0=parsed.exact_names[0], exact_1=parsed.exact_names[1], key=parsed.name_key,
                      key_end=_after_prefix(parsed.name_key), threshold=FUZZY_THRESHOLD, n=-1 if n is None else n)
        trigrams = name_trigrams(parsed.name_key) if parsed.fuzzy else ()
        params.update({f"trigram_{i}": t for i, t in enumerate(trigrams)}, query_trigrams=len(trigrams))
        exact = "d.name IN (:exact_0, :exact_1)"
        # A prefix is a range of the primary key (BINARY order is code point order), as LIKE on the
        # trigram table would find it, case aside: names and queries are lower case.
        below_end = "AND d.name < :key_end" if params["key_end"] else ""
        prefix = f"d.name >= :key {below_end} AND substr(d.name, 1, length(:key)) = :key"
        prefix_score = f"{TIER_PREFIX} + 1.0 / (1 + length(d.name))"
        if since is not None:
            # Newest first: only the few documents updated since, each name tested directly (a trigram
            # "found in the name" is a substring of "  name ", exactly what the trigram table matches).
            shared = " + ".join(f"(instr('  ' || d.name || ' ', :trigram_{i}) > 0)"
                                for i in range(len(trigrams))) or "0"
            params["since"] = since
            sql = f"""
                SELECT {_COLUMNS}, CASE WHEN {exact} THEN {TIER_EXACT} WHEN {prefix} THEN {prefix_score}
                    ELSE {TIER_FUZZY} + similarity * 0.999 END AS score
                FROM (SELECT d.*, ({shared}) * 1.0 / (:query_trigrams + length(d.name) + 1 - ({shared})) AS similarity
                      FROM search_documents AS d WHERE d.updated >= :since AND {where}) AS d
                WHERE {exact} OR ({prefix}) OR (:query_trigrams > 0 AND similarity >= :threshold)"""
            return _Statement(sql, params)
        parts = []
        if "exact" in tiers:
            parts.append(f"SELECT d.name, {TIER_EXACT} AS score FROM search_documents AS d WHERE {exact} AND {where}")
        if "prefix" in tiers:
            parts.append(f"""SELECT * FROM (SELECT d.name, {prefix_score} AS score FROM search_documents AS d
                             WHERE {prefix} AND {where} ORDER BY score DESC, d.name LIMIT :n)""")
        if "fuzzy" in tiers and trigrams:
            params.update({f"trigram_{i}": _fts_string(t) for i, t in enumerate(trigrams)},
                          min_shared=FUZZY_THRESHOLD * len(trigrams))
            union = " UNION ALL ".join(f"SELECT rowid AS id FROM search_names WHERE search_names MATCH :trigram_{i}"
                                       for i in range(len(trigrams)))
            # A name shares at most all of its trigrams: fewer than threshold × the query's cannot reach it.
            # Rows are keyed by the FTS rowid until the join to search_documents by name.
            parts.append(f"""SELECT * FROM (
                SELECT d.name, {TIER_FUZZY} + f.similarity * 0.999 AS score FROM (
                    SELECT trim(c.c0) AS name,
                           s.shared * 1.0 / (:query_trigrams + length(c.c0) - 2 - s.shared) AS similarity
                    FROM (SELECT id, count(*) AS shared FROM ({union}) GROUP BY id HAVING count(*) >= :min_shared) AS s
                    JOIN search_names_content AS c ON c.id = s.id) AS f
                JOIN search_documents AS d ON d.name = f.name
                WHERE f.similarity >= :threshold AND {where} ORDER BY score DESC, d.name LIMIT :n)""")
        if not parts:
            parts.append("SELECT NULL, 0.0 WHERE 0")
        sql = f"""WITH scored (name, score) AS ({" UNION ALL ".join(parts)})
                  SELECT {_COLUMNS}, s.score AS score FROM scored AS s JOIN search_documents AS d ON d.name = s.name"""
        return _Statement(sql, params)

    async def _outside_text(self, session: Any, parsed: ParsedQuery, names: list[Any]) -> int:
        """Called when fewer than TOTAL_CAP documents match the text: their names are read, not counted."""
        if not names:
            return 0
        where, params = self._filters(parsed)
        sql = f"SELECT trim(c.c0) AS name FROM search_fts {_DOCUMENT} WHERE search_fts MATCH :text_query AND {where}"
        inside = await _rows_plain(session, _Statement(sql, {**params, "text_query": _text_query(parsed)}))
        return len({row.name for row in names} - {row.name for row in inside})


def _after_prefix(key: str) -> str | None:
    """The least string above every string starting with ``key``, in code point order (None: none)."""
    for i in range(len(key) - 1, -1, -1):
        code = ord(key[i]) + 1
        code = 0xE000 if code == 0xD800 else code  # past the surrogates, which no bound string holds
        if code <= 0x10FFFF:
            return key[:i] + chr(code)
    return None


async def _rows_plain(session: Any, statement: _Statement) -> list[Any]:
    return list((await session.execute(*_args(statement))).all())


def _text_query(parsed: ParsedQuery) -> str:
    return " AND ".join(f"{_fts_string(word)}*" for word in parsed.words)


def _fts_string(value: str) -> str:
    """An FTS5 string literal: the value in double quotes, inner quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


class PostgresSearchIndex(_SqlSearchIndex):
    _insert = staticmethod(postgresql.insert)
    _instr = "strpos"

    def _count_text(self, parsed: ParsedQuery) -> _Statement:
        where, params = self._filters(parsed)
        sql = f"""SELECT count(*) FROM (SELECT 1 FROM search_documents AS d
                  WHERE d.search_vector @@ {_TSQUERY} AND {where} LIMIT :cap) AS m"""
        return _Statement(sql, {**params, "tsquery": _tsquery(parsed), "cap": TOTAL_CAP})

    def _text_ranked(self, parsed: ParsedQuery, *, n: int, name_first: bool) -> _Statement | None:
        where, params = self._filters(parsed)
        params.update(tsquery=_tsquery(parsed), name_tsquery=_tsquery(parsed, weights="A"), n=n)
        in_name = "ts_match_vq(d.search_vector, to_tsquery('simple', CAST(:name_tsquery AS text)))"
        rank = f"ts_rank(CAST('{{0.001, 0.01, 0.1, 1.0}}' AS float4[]), d.search_vector, {_TSQUERY}, 32)"
        if name_first:
            # The trigram index finds the names holding each word of three characters or more; the
            # weight-A test keeps those where it starts a word.  A function call, not @@, so that the
            # planner cannot reach for the GIN index over every text match.
            likes = {f"like_{i}": f"%{word}%" for i, word in enumerate(parsed.words) if len(word) >= 3}
            if not likes:
                return None
            params.update(likes)
            found = " AND ".join([*(f"d.name LIKE CAST(:{key} AS text)" for key in likes), in_name])
            score = f"{TIER_TEXT} + 0.5 + {rank} / 2"
        else:
            found = f"d.search_vector @@ {_TSQUERY}"
            score = f"{TIER_TEXT} + CASE WHEN {in_name} THEN 0.5 ELSE 0.0 END + {rank} / 2"
        sql = f"""SELECT {_COLUMNS}, ({score})::float8 AS score FROM search_documents AS d
                  WHERE {found} AND {where} ORDER BY score DESC, d.name COLLATE "C" LIMIT :n"""
        return _Statement(sql, params)

    async def _text_newest(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int) -> list[Any]:
        where, params = self._filters(parsed)
        params.update(tsquery=_tsquery(parsed), n=n)
        if matched >= WALK_DENSITY * n:  # many: walk the updated index (a function call keeps GIN out)
            sql = f"""SELECT {_COLUMNS}, {TIER_TEXT}::float8 AS score FROM search_documents AS d
                      WHERE ts_match_vq(d.search_vector, {_TSQUERY}) AND {where}
                      ORDER BY d.updated DESC, d.name COLLATE "C" LIMIT :n"""
        else:  # few: take them all through the GIN index, then sort
            sql = f"""WITH m AS MATERIALIZED (
                          SELECT {_COLUMNS} FROM search_documents AS d WHERE d.search_vector @@ {_TSQUERY} AND {where})
                      SELECT m.*, {TIER_TEXT}::float8 AS score FROM m
                      ORDER BY m.updated DESC, m.name COLLATE "C" LIMIT :n"""
        return await _rows(session, _Statement(sql, params))

    def _name_matches(self, parsed: ParsedQuery, *, tiers: tuple[str, ...], since: datetime | None,
                      n: int | None) -> _Statement:
        where, params = self._filters(parsed)  # every candidate is rechecked anyway: n would not save a row
        params.update(exact_0=parsed.exact_names[0], exact_1=parsed.exact_names[1], prefix=f"{parsed.name_key}%",
                      key=parsed.name_key, threshold=FUZZY_THRESHOLD, tsquery=_tsquery(parsed))
        exact, prefix = "d.name IN (:exact_0, :exact_1)", "d.name LIKE CAST(:prefix AS text)"
        fuzzy = parsed.fuzzy and "fuzzy" in tiers
        candidates = {"exact": exact, "prefix": prefix, "fuzzy": "d.name % CAST(:key AS text)" if fuzzy else "false"}
        matched = [candidates[tier] for tier in tiers] or ["false"]
        if since is not None:
            where, params["since"] = f"{where} AND d.updated >= :since", since
        # similarity() once per candidate (OFFSET 0 keeps the planner from copying it into every use);
        # % only finds candidates, at the session's pg_trgm threshold: FUZZY_THRESHOLD decides.
        similarity = "similarity(d.name, CAST(:key AS text))" if fuzzy else "0.0"
        sql = f"""
            SELECT d.name, d.display_name, d.version, d.summary, d.updated, d.in_text, CASE
                    WHEN {exact} THEN {TIER_EXACT}
                    WHEN {prefix} THEN {TIER_PREFIX} + 1.0 / (1 + length(d.name))
                    ELSE {TIER_FUZZY} + d.similarity * 0.999
                END::float8 AS score
            FROM (SELECT {_COLUMNS}, {similarity} AS similarity, d.search_vector @@ {_TSQUERY} AS in_text
                  FROM search_documents AS d WHERE ({" OR ".join(matched)}) AND {where} OFFSET 0) AS d
            WHERE {exact} OR {prefix} OR d.similarity >= :threshold"""
        return _Statement(sql, params)

    async def _outside_text(self, session: Any, parsed: ParsedQuery, names: list[Any]) -> int:
        return len({row.name for row in names if not row.in_text})


_TSQUERY = "to_tsquery('simple', CAST(:tsquery AS text))"


def _tsquery(parsed: ParsedQuery, *, weights: str = "") -> str:
    """Every word as a prefix (of a word in fields of those weights).  Words are [^\\W_]+ runs:
    quoting them is enough to keep tsquery syntax out."""
    return " & ".join(f"'{word}':*{weights}" for word in parsed.words)
