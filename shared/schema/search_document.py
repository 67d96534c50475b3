"""The search index's own table: one row per searchable project.

The engine-specific parts (the Postgres weighted ``tsvector`` column and its GIN
indexes, the SQLite FTS5 tables and their triggers) are created by migrations
0004 and 0005 with raw DDL, because neither can be declared portably in the model.
``is_search_engine_object`` names exactly those objects so that autogenerate
can skip them (``shared/migrations/env.py``, ``include_name``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, UTCDateTime

# SQLite: the two FTS5 virtual tables; each owns shadow tables named "<table>_<suffix>".  On Postgres,
# "search_names" is a plain table of the names with a trigram index (migration 0005).
SQLITE_FTS_TABLES = ("search_fts", "search_names")
FTS5_SHADOW_SUFFIXES = ("data", "idx", "content", "docsize", "config")
# Postgres: the generated search vector and the GIN indexes (the last on the classifier tokens, 0005).
POSTGRES_VECTOR_COLUMN = "search_vector"
POSTGRES_INDEXES = ("ix_search_documents_search_vector", "ix_search_documents_name_trgm",
                    "ix_search_documents_classifier_tokens")

_ENGINE_TABLES = frozenset(
    list(SQLITE_FTS_TABLES) + [f"{t}_{suffix}" for t in SQLITE_FTS_TABLES for suffix in FTS5_SHADOW_SUFFIXES]
)


def is_search_engine_object(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """True for the search objects created outside the model by migrations 0004 and 0005."""
    if type_ == "table":
        return name in _ENGINE_TABLES
    if parent_names.get("table_name") != SearchEntry.__tablename__:
        return False
    return (type_ == "column" and name == POSTGRES_VECTOR_COLUMN) or (type_ == "index" and name in POSTGRES_INDEXES)


class SearchEntry(Base):
    """One project as the search index sees it (``shared.search.SearchDocument``)."""

    __tablename__ = "search_documents"
    __table_args__ = (Index("ix_search_documents_updated", "updated"),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    classifiers: Mapped[list[str]] = mapped_column(JSON)
    # "\n" + every classifier and each of its parents, one a line + "\n": filtered by substring.
    classifier_paths: Mapped[str] = mapped_column(Text)
    # One token per line of classifier_paths, space-separated: the hex of the path's UTF-8 bytes
    # (``shared.search.sql.common.classifier_token``), indexed with the text (migration 0005).
    classifier_tokens: Mapped[str] = mapped_column(Text)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
