"""search: the search_documents table and each engine's full-text structures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """ALTER TABLE search_documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A')
        || setweight(to_tsvector('simple', summary), 'B')
        || setweight(to_tsvector('simple', keywords), 'C')
        || setweight(to_tsvector('simple', description), 'D')) STORED""",
    "CREATE INDEX ix_search_documents_search_vector ON search_documents USING gin (search_vector)",
    "CREATE INDEX ix_search_documents_name_trgm ON search_documents USING gin (name gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_search_documents_name_trgm",
    "DROP INDEX IF EXISTS ix_search_documents_search_vector",
    "ALTER TABLE search_documents DROP COLUMN IF EXISTS search_vector",
    "DROP EXTENSION IF EXISTS pg_trgm",  # no CASCADE: kept if anything else has come to use it
]

# FTS rows are found by name (through the trigram table), never by search_documents' rowid,
# which VACUUM may renumber; search_fts shares search_names' rowid.
_SQLITE_ADD = """
    INSERT INTO search_names (name) VALUES ('  ' || new.name || ' ');
    INSERT INTO search_fts (rowid, name, summary, keywords, description)
        VALUES (last_insert_rowid(), new.name, new.summary, new.keywords, new.description);"""
_SQLITE_REMOVE = """
    DELETE FROM search_fts WHERE rowid IN (
        SELECT rowid FROM search_names
        WHERE search_names MATCH '"' || replace('  ' || old.name || ' ', '"', '""') || '"'
          AND name = '  ' || old.name || ' ');
    DELETE FROM search_names WHERE rowid IN (
        SELECT rowid FROM search_names
        WHERE search_names MATCH '"' || replace('  ' || old.name || ' ', '"', '""') || '"'
          AND name = '  ' || old.name || ' ');"""
SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "name, summary, keywords, description, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE search_names USING fts5(name, tokenize = 'trigram')",
    f"CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_documents_au",
    "DROP TRIGGER IF EXISTS search_documents_ad",
    "DROP TRIGGER IF EXISTS search_documents_ai",
    "DROP TABLE IF EXISTS search_names",
    "DROP TABLE IF EXISTS search_fts",
]


def upgrade() -> None:
    op.create_table('search_documents',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('classifiers', sa.JSON(), nullable=False),
    sa.Column('classifier_paths', sa.Text(), nullable=False),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_search_documents'))
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index('ix_search_documents_updated', ['updated'], unique=False)
    for statement in POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_updated')

    op.drop_table('search_documents')
