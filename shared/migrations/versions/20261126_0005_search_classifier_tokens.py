"""search: classifier tokens indexed with the text; Postgres: a narrow table of names for pg_trgm

A classifier filter on a broad word checked ~30,000 documents' rows to count 10,000 matches.
``classifier_tokens`` holds one token per classifier path (the hex of its UTF-8 bytes, the
paths of ``classifier_paths``), so that the filter is part of the full-text MATCH on SQLite
(a fifth ``search_fts`` column) and a GIN index lookup on Postgres.  Existing documents are
converted here, in SQL: no ``wheelhouse search reindex`` is needed.

Postgres also gets ``search_names``: the names alone, with their own trigram index, kept in step
with ``search_documents`` by triggers.  pg_trgm rechecks each ``%`` candidate on
its heap row (4,000-8,000 for a name-shaped query at 100,000 projects), and here a row is ~40
bytes instead of a document's ~1.4 KB.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# One row per (name, path) of classifier_paths ("\n" + paths one a line + "\n").
_SQLITE_PATHS = """
    WITH RECURSIVE split(name, path, rest) AS (
        SELECT name, '', substr(classifier_paths, 2) FROM search_documents
        UNION ALL
        SELECT name, substr(rest, 1, instr(rest, char(10)) - 1), substr(rest, instr(rest, char(10)) + 1)
        FROM split WHERE rest <> '')"""
_POSTGRES_TOKENS = """
    UPDATE search_documents SET classifier_tokens = coalesce((
        SELECT string_agg(encode(convert_to(path, 'UTF8'), 'hex'), ' ' ORDER BY path)
        FROM regexp_split_to_table(classifier_paths, E'\\n') AS path WHERE path <> ''), '')"""
POSTGRES_INDEX = "ix_search_documents_classifier_tokens"
POSTGRES_NAMES_UP = [
    "CREATE TABLE search_names (name varchar(200) NOT NULL, CONSTRAINT pk_search_names PRIMARY KEY (name))",
    "INSERT INTO search_names (name) SELECT name FROM search_documents",
    "CREATE INDEX ix_search_names_name_trgm ON search_names USING gin (name gin_trgm_ops)",
    "ANALYZE search_names",  # without statistics the planner takes the new table for empty and scans it
    # A row trigger for inserts: INSERT ... ON CONFLICT DO UPDATE fires it for the rows it inserts only.
    """CREATE FUNCTION search_names_insert() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO search_names (name) VALUES (NEW.name) ON CONFLICT DO NOTHING; RETURN NULL; END $$""",
    """CREATE FUNCTION search_names_rename() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           DELETE FROM search_names WHERE name = OLD.name;
           INSERT INTO search_names (name) VALUES (NEW.name) ON CONFLICT DO NOTHING;
           RETURN NULL;
       END $$""",
    # A statement trigger for deletes: a rebuild deletes every document at once.
    """CREATE FUNCTION search_names_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN DELETE FROM search_names WHERE name IN (SELECT name FROM old_rows); RETURN NULL; END $$""",
    """CREATE TRIGGER search_documents_names_ai AFTER INSERT ON search_documents
       FOR EACH ROW EXECUTE FUNCTION search_names_insert()""",
    """CREATE TRIGGER search_documents_names_au AFTER UPDATE OF name ON search_documents
       FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION search_names_rename()""",
    """CREATE TRIGGER search_documents_names_ad AFTER DELETE ON search_documents
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_names_delete()""",
]
POSTGRES_NAMES_DOWN = [
    "DROP TRIGGER IF EXISTS search_documents_names_au ON search_documents",
    "DROP TRIGGER IF EXISTS search_documents_names_ad ON search_documents",
    "DROP TRIGGER IF EXISTS search_documents_names_ai ON search_documents",
    "DROP FUNCTION IF EXISTS search_names_rename()",
    "DROP FUNCTION IF EXISTS search_names_delete()",
    "DROP FUNCTION IF EXISTS search_names_insert()",
    "DROP TABLE IF EXISTS search_names",
]


def _sqlite_fts(*, tokens: bool) -> list[str]:
    """The FTS tables and triggers of 0004, with the tokens column when ``tokens``; then filled."""
    fts_columns = "name, summary, keywords, description" + (", classifiers" if tokens else "")
    values = "name, summary, keywords, description" + (", classifier_tokens" if tokens else "")
    add = f"""
        INSERT INTO search_names (name) VALUES ('  ' || new.name || ' ');
        INSERT INTO search_fts (rowid, {fts_columns})
            VALUES (last_insert_rowid(), {", ".join(f"new.{v}" for v in values.split(", "))});"""
    remove = """
        DELETE FROM search_fts WHERE rowid IN (
            SELECT rowid FROM search_names
            WHERE search_names MATCH '"' || replace('  ' || old.name || ' ', '"', '""') || '"'
              AND name = '  ' || old.name || ' ');
        DELETE FROM search_names WHERE rowid IN (
            SELECT rowid FROM search_names
            WHERE search_names MATCH '"' || replace('  ' || old.name || ' ', '"', '""') || '"'
              AND name = '  ' || old.name || ' ');"""
    return [
        *_SQLITE_DROP,
        f"CREATE VIRTUAL TABLE search_fts USING fts5({fts_columns}, tokenize = 'unicode61 remove_diacritics 2')",
        "CREATE VIRTUAL TABLE search_names USING fts5(name, tokenize = 'trigram')",
        # Every existing document, in bulk: the two tables share a rowid (here the document's).
        "INSERT INTO search_names (rowid, name) SELECT rowid, '  ' || name || ' ' FROM search_documents",
        f"INSERT INTO search_fts (rowid, {fts_columns}) SELECT rowid, {values} FROM search_documents",
        f"CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN {add} END",
        f"CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN {remove} END",
        f"CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN {remove} {add} END",
    ]


_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_documents_au",
    "DROP TRIGGER IF EXISTS search_documents_ad",
    "DROP TRIGGER IF EXISTS search_documents_ai",
    "DROP TABLE IF EXISTS search_names",
    "DROP TABLE IF EXISTS search_fts",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # A default only to fill the existing rows (SQLite cannot add a NOT NULL column without one; it
    # keeps it, unused: every write sets the column, and autogenerate does not compare defaults).
    op.add_column('search_documents', sa.Column('classifier_tokens', sa.Text(), nullable=False, server_default=''))
    if postgres:
        op.execute(_POSTGRES_TOKENS)
        op.alter_column('search_documents', 'classifier_tokens', server_default=None)
        op.execute(f"CREATE INDEX {POSTGRES_INDEX} ON search_documents "
                   "USING gin (string_to_array(classifier_tokens, ' '))")
        for statement in POSTGRES_NAMES_UP:
            op.execute(statement)
        return
    op.execute(_SQLITE_DROP[0])  # no FTS rewrite per updated row: the tables are rebuilt below
    op.execute(f"""CREATE TEMP TABLE classifier_tokens_0005 AS {_SQLITE_PATHS}
                   SELECT name, group_concat(lower(hex(path)), ' ') AS tokens FROM split WHERE path <> ''
                   GROUP BY name""")
    op.execute("""UPDATE search_documents SET classifier_tokens = t.tokens
                  FROM classifier_tokens_0005 AS t WHERE t.name = search_documents.name""")
    op.execute("DROP TABLE classifier_tokens_0005")
    for statement in _sqlite_fts(tokens=True):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in [*POSTGRES_NAMES_DOWN, f"DROP INDEX IF EXISTS {POSTGRES_INDEX}"]:
            op.execute(statement)
    else:
        for statement in _sqlite_fts(tokens=False):
            op.execute(statement)
    op.drop_column('search_documents', 'classifier_tokens')
