"""Project search behind one Protocol (STYLE §2): ``SearchIndex`` and its SQL backends.

The OpenSearch backend is ``shared.search.opensearch.OpenSearchIndex``, not re-exported here:
importing it loads opensearch-py and aiohttp, which the SQL default should not pay for.
"""

from shared.search.base import SearchDocument, SearchHit, SearchIndex, SearchResults
from shared.search.factory import open_search_index
from shared.search.sql import PostgresSearchIndex, SqliteSearchIndex

__all__ = [
    "PostgresSearchIndex",
    "SearchDocument",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "SqliteSearchIndex",
    "open_search_index",
]
