"""Choosing the search backend for a deployment."""

from __future__ import annotations

from shared.config import SharedSettings
from shared.db import Database
from shared.search.base import SearchIndex
from shared.search.sql import PostgresSearchIndex, SqliteSearchIndex


def open_search_index(settings: SharedSettings, *, db: Database) -> SearchIndex:
    """OpenSearch when ``opensearch_url`` is set, else the SQL full text of the deployment's database."""
    if settings.opensearch_url:
        # Imported here: opensearch-py and aiohttp cost ~0.5 s to load, which the SQL default never pays.
        from shared.search.opensearch import OpenSearchIndex

        return OpenSearchIndex(settings.opensearch_url, settings.opensearch_index)
    dialect = db.write_engine.dialect.name
    if dialect == "postgresql":
        return PostgresSearchIndex(db)
    if dialect == "sqlite":
        return SqliteSearchIndex(db)
    raise ValueError(f"no search index for the {dialect} dialect")
