"""Choosing the search backend for a deployment."""

from __future__ import annotations

from shared.config import SharedSettings
from shared.db import Database
from shared.search.base import SearchIndex
from shared.search.sql import PostgresSearchIndex, SqliteSearchIndex


def open_search_index(settings: SharedSettings, *, db: Database) -> SearchIndex:
    """The SQL full text of the deployment's database (OpenSearch, once configured, is chosen here)."""
    dialect = db.write_engine.dialect.name
    if dialect == "postgresql":
        return PostgresSearchIndex(db)
    if dialect == "sqlite":
        return SqliteSearchIndex(db)
    raise ValueError(f"no search index for the {dialect} dialect")
