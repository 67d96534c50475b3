"""The SQL search backends: SQLite FTS5 (``sqlite``) and Postgres full text + pg_trgm (``postgres``).

Both keep their documents in the ``search_documents`` table (``SearchEntry``);
they differ only in how a query is matched and scored, and each is the
repository for its engine: all search SQL lives in this package, every value
bound.  ``common`` holds the storage and the query plan they share; each engine's
module describes its own structures.

Classifier filtering: ``classifier_paths`` holds every classifier and each of
its parents framed by newlines, and a filter is a plain substring test for
``"\\n<classifier>\\n"`` (``instr``) on the document's row: parent matching
("Framework :: Django" matches "Framework :: Django :: 4.2", "Framework :: Dj"
does not) falls out of the framing.  Several classifiers are ANDed.  The same
paths are also ``classifier_tokens``, one full-text token per path (the hex of
its UTF-8 bytes, migration 0005), so that a filter can be answered by an index
with the same meaning: part of the FTS5 MATCH for SQLite's text matches, a GIN
``@>`` on Postgres (see each engine's module).  Before them, counting 10,000
matches of a broad word under a filter read ~30,000 rows.

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

What stays costly: a page that the name-first part of the text tier cannot fill.
"""

from shared.search.sql.postgres import PostgresSearchIndex
from shared.search.sql.sqlite import SqliteSearchIndex

__all__ = ["PostgresSearchIndex", "SqliteSearchIndex"]
