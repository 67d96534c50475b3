"""Project search behind one Protocol (STYLE §2): ``SearchIndex`` and its SQL backends."""

from shared.search.base import SearchDocument, SearchHit, SearchIndex, SearchResults
from shared.search.sql import PostgresSearchIndex, SqliteSearchIndex, open_search_index

__all__ = [
    "PostgresSearchIndex",
    "SearchDocument",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "SqliteSearchIndex",
    "open_search_index",
]
