"""SQLite: FTS5 full text and an FTS5 trigram index of names.

``search_fts`` (FTS5, unicode61, columns name/summary/keywords/description, ranked
by ``bm25`` with weights 1000/100/10/1, and ``classifiers``, the document's
``classifier_tokens``, weight 0) and ``search_names`` (FTS5 ``trigram`` over
"  name ", padded as pg_trgm pads a word, used for prefix ``LIKE`` and for fuzzy
matching: the number of the query's trigrams found in a name, one indexed MATCH
per trigram, gives a pg_trgm-style similarity).  Triggers on ``search_documents``
keep both in step, keyed by name rather than the table's rowid, which VACUUM may
renumber.

The FTS tables share no key with ``search_documents``, so a text match reaches its
document by name, through FTS5's content table of ``search_names``
(``search_names_content``: ``id`` is the FTS rowid, ``c0`` the padded name) read
as the plain table it is: many times cheaper than the same rows through the
virtual table.  The newest-first batches scan it from its last row down, where
recently written documents are (each write gives a document new FTS rows), and
stop once the batch is found.

A classifier filter on text matches is part of the MATCH: the token of each
filter classifier in the ``classifiers`` column (one token per path of
``classifier_paths``, so parents match as the substring test does), and the words
are confined to the four text columns, so that no word reaches a token.  Counting
and ranking then never read a document's row to filter it (migration 0005; before
it, counting 10,000 matches of a broad word checked ~30,000 rows reached by name).
Name matches and classifier-only queries keep the substring test on the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite

from shared.search.base import (
    FUZZY_THRESHOLD,
    TIER_EXACT,
    TIER_FUZZY,
    TIER_PREFIX,
    TIER_TEXT,
    TOTAL_CAP,
    ParsedQuery,
    name_trigrams,
)
from shared.search.sql.common import (
    COLUMNS,
    SqlSearchIndex,
    Statement,
    fetch_plain,
    fetch_rows,
    fetch_scalar,
    filter_tokens,
)

# Newest first, with TOTAL_CAP text matches or more: documents read a batch at a time.
NEWEST_BATCH, NEWEST_BATCH_MAX = 200, 20_000
_BM25 = "bm25(search_fts, 1000.0, 100.0, 10.0, 1.0, 0.0)"
_TEXT_COLUMNS = "name summary keywords description"
# An FTS row's document: through the name in FTS5's content table of search_names (which shares
# search_fts' rowid), read as a plain table: far cheaper than the same column through the virtual table.
_DOCUMENT = ("JOIN search_names_content AS c ON c.id = search_fts.rowid "
             "JOIN search_documents AS d ON d.name = trim(c.c0)")


class SqliteSearchIndex(SqlSearchIndex):
    _insert = staticmethod(sqlite.insert)
    _instr = "instr"

    async def _count_text(self, session: Any, parsed: ParsedQuery) -> int:
        sql = "SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH :text_query LIMIT :cap) AS m"
        return await fetch_scalar(session, Statement(sql, {"text_query": _text_query(parsed), "cap": TOTAL_CAP}))

    def _text_ranked(self, parsed: ParsedQuery, *, n: int, name_first: bool) -> Statement | None:
        params = {"text_query": _text_query(parsed, columns="name" if name_first else _TEXT_COLUMNS), "n": n}
        # rank = -bm25 >= 0 maps to rank / (1 + rank), written with one bm25 call; name-first matches
        # take [0.5, 1) of the tier, the rest [0, 0.5).
        score = f"{TIER_TEXT} + {0.5 if name_first else 0.0} + (1.0 - 1.0 / (1.0 - {_BM25})) / 2"
        # Only the page's n are joined to their documents (the classifier filter is in the MATCH).
        sql = f"""SELECT {COLUMNS}, t.score AS score FROM (
                      SELECT trim(c.c0) AS name, {score} AS score FROM search_fts
                      JOIN search_names_content AS c ON c.id = search_fts.rowid
                      WHERE search_fts MATCH :text_query ORDER BY score DESC, name LIMIT :n) AS t
                  JOIN search_documents AS d ON d.name = t.name"""
        return Statement(sql, params)

    async def _text_newest(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int) -> list[Any]:
        where, params = self._filters(parsed)
        params.update(text_query=_text_query(parsed))
        if matched < TOTAL_CAP:  # few: join each to its document and sort
            sql = f"""SELECT {COLUMNS}, {TIER_TEXT} AS score FROM search_fts {_DOCUMENT}
                      WHERE search_fts MATCH :text_query ORDER BY d.updated DESC, d.name LIMIT :n"""
            return await fetch_rows(session, Statement(sql, {"text_query": params["text_query"], "n": n}))
        # Many: the newest documents in growing batches, each batch's names looked for among the text
        # matches.  A name has no index to its FTS row, so the names' content table is scanned for them,
        # from the newest FTS row down: each write gives a document new FTS rows, so the newest documents
        # are usually found among the last rows and the scan stops (at worst it reads the whole table).
        newest = f"""SELECT {COLUMNS}, {TIER_TEXT} AS score FROM search_documents AS d WHERE {where}
                     ORDER BY d.updated DESC, d.name LIMIT :size OFFSET :skip"""
        matching = """WITH batch AS MATERIALIZED (
                          SELECT id, c0 FROM search_names_content WHERE c0 IN :ids ORDER BY id DESC LIMIT :size)
                      SELECT trim(c0) AS name FROM batch WHERE id IN (
                          SELECT rowid FROM search_fts
                          WHERE search_fts MATCH :text_query AND rowid >= (SELECT min(id) FROM batch))"""
        found: list[Any] = []
        skip, size = 0, min(max(2 * n, NEWEST_BATCH), NEWEST_BATCH_MAX)
        while len(found) < n:
            batch = await fetch_rows(session, Statement(newest, {**params, "size": size, "skip": skip}))
            if not batch:
                break
            padded = [f"  {row.name} " for row in batch]
            hits = await fetch_plain(session, Statement(matching, {**params, "ids": padded, "size": len(padded)}))
            hits = {row.name for row in hits}
            found += [row for row in batch if row.name in hits]
            skip, size = skip + len(batch), min(2 * size, NEWEST_BATCH_MAX)
        return found[:n]

    def _name_matches(self, parsed: ParsedQuery, *, tiers: tuple[str, ...], since: datetime | None,
                      n: int | None) -> Statement:
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
                SELECT {COLUMNS}, CASE WHEN {exact} THEN {TIER_EXACT} WHEN {prefix} THEN {prefix_score}
                    ELSE {TIER_FUZZY} + similarity * 0.999 END AS score
                FROM (SELECT d.*, ({shared}) * 1.0 / (:query_trigrams + length(d.name) + 1 - ({shared})) AS similarity
                      FROM search_documents AS d WHERE d.updated >= :since AND {where}) AS d
                WHERE {exact} OR ({prefix}) OR (:query_trigrams > 0 AND similarity >= :threshold)"""
            return Statement(sql, params)
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
                  SELECT {COLUMNS}, s.score AS score FROM scored AS s JOIN search_documents AS d ON d.name = s.name"""
        return Statement(sql, params)

    async def _outside_text(self, session: Any, parsed: ParsedQuery, names: list[Any]) -> int:
        """Called when fewer than TOTAL_CAP documents match the text: their names are read, not counted."""
        if not names:
            return 0
        sql = ("SELECT trim(c.c0) AS name FROM search_fts JOIN search_names_content AS c ON c.id = search_fts.rowid "
               "WHERE search_fts MATCH :text_query")
        inside = await fetch_plain(session, Statement(sql, {"text_query": _text_query(parsed)}))
        return len({row.name for row in names} - {row.name for row in inside})


def _after_prefix(key: str) -> str | None:
    """The least string above every string starting with ``key``, in code point order (None: none)."""
    for i in range(len(key) - 1, -1, -1):
        code = ord(key[i]) + 1
        code = 0xE000 if code == 0xD800 else code  # past the surrogates, which no bound string holds
        if code <= 0x10FFFF:
            return key[:i] + chr(code)
    return None


def _text_query(parsed: ParsedQuery, *, columns: str = _TEXT_COLUMNS) -> str:
    """Every word as a prefix in those columns, and every filter classifier's token in ``classifiers``
    (a column no word may reach: a word could be a prefix of a token)."""
    words = " AND ".join(f"{_fts_string(word)}*" for word in parsed.words)
    tokens = "".join(f" AND {{classifiers}} : {_fts_string(token)}" for token in filter_tokens(parsed))
    return f"{{{columns}}} : ({words}){tokens}"


def _fts_string(value: str) -> str:
    """An FTS5 string literal: the value in double quotes, inner quotes doubled."""
    return '"' + value.replace('"', '""') + '"'

