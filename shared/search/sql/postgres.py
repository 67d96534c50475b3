"""Postgres: a weighted ``tsvector`` and pg_trgm.

A generated weighted ``tsvector`` (A name, B summary, C keywords, D description)
with a GIN index, ranked by ``ts_rank``; ``similarity()`` from pg_trgm (GIN
``gin_trgm_ops`` index, ``%`` operator) for fuzzy names.

Name matches (exact, prefix, fuzzy) are found in ``search_names``, a narrow table
of the names alone with its own trigram index, kept in step by triggers
(migration 0005): pg_trgm rechecks every ``%`` candidate on its heap row,
4,000-8,000 of them for a name-shaped query at 100,000 projects, and a name's row
there is ~40 bytes where a document's is ~1.4 KB.  Only the matches are joined to
their documents.

A classifier filter is ``string_to_array(classifier_tokens, ' ') @> tokens``, one
token per path of ``classifier_paths`` (so parents match as the substring test
does), with a GIN index on that expression (migration 0005): the planner can
intersect it with the text index instead of testing the filter on every text
match's row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql

from shared.search.base import FUZZY_THRESHOLD, TIER_EXACT, TIER_FUZZY, TIER_PREFIX, TIER_TEXT, TOTAL_CAP, ParsedQuery
from shared.search.sql.common import COLUMNS, SqlSearchIndex, Statement, fetch_rows, fetch_scalar, filter_tokens

# Newest first walks the ``updated`` index when at least one row in WALK_DENSITY matches
# (about offset + limit × WALK_DENSITY rows read), and sorts the matches otherwise.
WALK_DENSITY = 50
# Counting: text matches are counted by reading the table (COUNT_WALK_ROWS rows at most) when at least
# COUNT_SAMPLE / COUNT_WALK_DENSITY of its first COUNT_SAMPLE rows match, else through the GIN index.
COUNT_SAMPLE, COUNT_WALK_DENSITY, COUNT_WALK_ROWS = 500, 2, 30_000


class PostgresSearchIndex(SqlSearchIndex):
    _insert = staticmethod(postgresql.insert)

    def _filters(self, parsed: ParsedQuery) -> tuple[str, dict[str, Any]]:
        """Every filter classifier's token among the document's (a GIN index lookup, migration 0005)."""
        if not parsed.classifiers:
            return "1 = 1", {}
        return ("string_to_array(d.classifier_tokens, ' ') @> CAST(:classifier_tokens AS text[])",
                {"classifier_tokens": filter_tokens(parsed)})

    async def _count_text(self, session: Any, parsed: ParsedQuery) -> int:
        """Through the GIN index; or, when a sample of the table says that at least one row in
        COUNT_WALK_DENSITY matches, by reading rows in table order until TOTAL_CAP of them match
        (at most COUNT_WALK_ROWS, then through the index after all).

        The index answers a prefix (``'word':*``) by building the bitmap of every matching row first:
        ~25-45 ms for a common word at 100,000 projects, where reading the ~13,000 rows that hold
        10,000 matches takes about half that.  A function call, not @@, keeps the planner off the index.
        """
        where, params = self._filters(parsed)
        params.update(tsquery=_tsquery(parsed), cap=TOTAL_CAP, sample=COUNT_SAMPLE, walk=COUNT_WALK_ROWS,
                      dense=COUNT_SAMPLE // COUNT_WALK_DENSITY)
        in_rows = f"""(SELECT d.search_vector, d.classifier_tokens FROM search_documents AS d LIMIT {{rows}}) AS d
                      WHERE ts_match_vq(d.search_vector, {_TSQUERY_ONCE}) AND {where}"""
        walked = f"""SELECT CASE WHEN (SELECT count(*) FROM {in_rows.format(rows=":sample")}) >= :dense
                     THEN (SELECT count(*) FROM (SELECT 1 FROM {in_rows.format(rows=":walk")} LIMIT :cap) AS m) END"""
        if (await fetch_scalar(session, Statement(walked, params)) or 0) >= TOTAL_CAP:
            return TOTAL_CAP
        sql = f"""SELECT count(*) FROM (SELECT 1 FROM search_documents AS d
                  WHERE d.search_vector @@ {_TSQUERY} AND {where} LIMIT :cap) AS m"""
        return await fetch_scalar(session, Statement(sql, params))

    def _text_ranked(self, parsed: ParsedQuery, *, n: int, name_first: bool) -> Statement | None:
        where, params = self._filters(parsed)
        params.update(tsquery=_tsquery(parsed), name_tsquery=_tsquery(parsed, weights="A"), n=n)
        in_name = "ts_match_vq(d.search_vector, (SELECT to_tsquery('simple', CAST(:name_tsquery AS text))))"
        rank = f"ts_rank(CAST('{{0.001, 0.01, 0.1, 1.0}}' AS float4[]), d.search_vector, {_TSQUERY_ONCE}, 32)"
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
        sql = f"""SELECT {COLUMNS}, ({score})::float8 AS score FROM search_documents AS d
                  WHERE {found} AND {where} ORDER BY score DESC, d.name COLLATE "C" LIMIT :n"""
        return Statement(sql, params)

    async def _text_newest(self, session: Any, parsed: ParsedQuery, *, n: int, matched: int) -> list[Any]:
        where, params = self._filters(parsed)
        params.update(tsquery=_tsquery(parsed), n=n)
        if matched >= WALK_DENSITY * n:  # many: walk the updated index (a function call keeps GIN out)
            sql = f"""SELECT {COLUMNS}, {TIER_TEXT}::float8 AS score FROM search_documents AS d
                      WHERE ts_match_vq(d.search_vector, {_TSQUERY_ONCE}) AND {where}
                      ORDER BY d.updated DESC, d.name COLLATE "C" LIMIT :n"""
        else:  # few: take them all through the GIN index, then sort
            sql = f"""WITH m AS MATERIALIZED (
                          SELECT {COLUMNS} FROM search_documents AS d WHERE d.search_vector @@ {_TSQUERY} AND {where})
                      SELECT m.*, {TIER_TEXT}::float8 AS score FROM m
                      ORDER BY m.updated DESC, m.name COLLATE "C" LIMIT :n"""
        return await fetch_rows(session, Statement(sql, params))

    def _name_matches(self, parsed: ParsedQuery, *, tiers: tuple[str, ...], since: datetime | None,
                      n: int | None) -> Statement:
        where, params = self._filters(parsed)  # every candidate is rechecked anyway: n would not save a row
        params.update(exact_0=parsed.exact_names[0], exact_1=parsed.exact_names[1], prefix=f"{parsed.name_key}%",
                      key=parsed.name_key, threshold=FUZZY_THRESHOLD, tsquery=_tsquery(parsed))
        exact, prefix = "{t}.name IN (:exact_0, :exact_1)", "{t}.name LIKE CAST(:prefix AS text)"
        fuzzy = parsed.fuzzy and "fuzzy" in tiers
        candidates = {"exact": exact, "prefix": prefix, "fuzzy": "{t}.name % CAST(:key AS text)" if fuzzy else "false"}
        matched = " OR ".join(candidates[tier] for tier in tiers) or "false"
        if since is not None:
            where, params["since"] = f"{where} AND d.updated >= :since", since
        # Candidates come from the narrow search_names (pg_trgm rechecks each on its heap row: a few
        # thousand for a name-shaped query), and only the matches are joined to their documents.
        # similarity() once per candidate (OFFSET 0 keeps the planner from copying it into every use);
        # % only finds candidates, at the session's pg_trgm threshold: FUZZY_THRESHOLD decides.
        similarity = "similarity(n.name, CAST(:key AS text))" if fuzzy else "0.0"
        sql = f"""
            SELECT {COLUMNS}, d.search_vector @@ {_TSQUERY} AS in_text, CASE
                    WHEN {exact.format(t="d")} THEN {TIER_EXACT}
                    WHEN {prefix.format(t="d")} THEN {TIER_PREFIX} + 1.0 / (1 + length(d.name))
                    ELSE {TIER_FUZZY} + c.similarity * 0.999
                END::float8 AS score
            FROM (SELECT n.name, {similarity} AS similarity FROM search_names AS n
                  WHERE {matched.format(t="n")} OFFSET 0) AS c
            JOIN search_documents AS d ON d.name = c.name
            WHERE ({exact.format(t="c")} OR {prefix.format(t="c")} OR c.similarity >= :threshold) AND {where}"""
        return Statement(sql, params)

    async def _outside_text(self, session: Any, parsed: ParsedQuery, names: list[Any]) -> int:
        return len({row.name for row in names if not row.in_text})


_TSQUERY = "to_tsquery('simple', CAST(:tsquery AS text))"
# The same, computed once per statement: in a function call on every row, a prepared statement's
# generic plan (asyncpg's, after five runs) would parse the query again for each row.  Index
# conditions (@@) keep _TSQUERY, whose constant the planner estimates from.
_TSQUERY_ONCE = f"(SELECT {_TSQUERY})"


def _tsquery(parsed: ParsedQuery, *, weights: str = "") -> str:
    """Every word as a prefix (of a word in fields of those weights).  Words are [^\\W_]+ runs:
    quoting them is enough to keep tsquery syntax out."""
    return " & ".join(f"'{word}':*{weights}" for word in parsed.words)
