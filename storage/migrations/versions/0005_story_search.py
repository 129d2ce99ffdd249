"""Full-text search index of stories, folded (no diacritics), kept in step by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 05:00:00

SQLite: a contentless FTS5 table `story_search` (rowid = story id). PostgreSQL: a table
`story_search` of tsvectors with GIN indexes, and the SQL function `newsagg_fold`. Triggers
on `stories` index each inserted or changed story (title or text) and drop deleted ones, so
the store need not know about the index. The folding rule is storage/search.py's: changing it
means a new revision that recreates the triggers and reindexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from storage.search import EXTRA_FOLDS, SEPARATORS, SQLITE_REPLACEMENTS

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TOKENIZER = "unicode61 remove_diacritics 2"
# PostgreSQL: the (title, document) tsvectors of the stories row {0} (the trigger's values).
SEARCH_VECTORS = ("to_tsvector('simple', newsagg_fold({0}.title)), "
                  "to_tsvector('simple', newsagg_fold({0}.title) || ' ' || newsagg_fold({0}.text))")


def _sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _sqlite_fold(expr: str) -> str:
    """SQLite: the expression with the letters unicode61 does not fold replaced."""
    for char, base in SQLITE_REPLACEMENTS.items():
        expr = f"replace({expr}, {_sql_string(char)}, {_sql_string(base)})"
    return expr


def _sqlite_row(row: str) -> str:
    """SQLite: the (rowid, title, body) values that index a row of stories."""
    return f"{row}.id, {_sqlite_fold(row + '.title')}, {_sqlite_fold(row + '.text')}"


def _sqlite_upgrade() -> None:
    """FTS5 table, triggers and the index of the stories already stored."""
    op.execute(f"CREATE VIRTUAL TABLE story_search USING fts5(title, body, content='', "
               f"tokenize='{SQLITE_TOKENIZER}')")
    insert = f"INSERT INTO story_search(rowid, title, body) VALUES ({_sqlite_row('new')});"
    delete = (f"INSERT INTO story_search(story_search, rowid, title, body) "
              f"VALUES ('delete', {_sqlite_row('old')});")
    op.execute(f"CREATE TRIGGER story_search_insert AFTER INSERT ON stories BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER story_search_update AFTER UPDATE OF title, text ON stories "
               f"BEGIN {delete} {insert} END")
    op.execute(f"CREATE TRIGGER story_search_delete AFTER DELETE ON stories BEGIN {delete} END")
    op.execute(f"INSERT INTO story_search(rowid, title, body) "
               f"SELECT {_sqlite_row('stories')} FROM stories")


def _postgresql_upgrade() -> None:
    """Fold function, tsvector table with a GIN index, trigger and the existing stories."""
    collation = op.get_bind().exec_driver_sql(
        "SELECT collname FROM pg_collation WHERE collname = 'und-x-icu'").scalar()
    # Lowercase every script whatever the database's LC_CTYPE (a C locale lowercases ASCII only).
    icu = ' COLLATE "und-x-icu"' if collation else ""
    # Marks after an ASCII letter go (the Latin letters with diacritics: storage.search.FOLDS);
    # the letters with no decomposition (đ) are replaced; separators become one space.
    unmarked = r"regexp_replace(normalize($1, NFD), '([A-Za-z])[\u0300-\u036f]+', '\1', 'g')"
    folded = f"lower(normalize({unmarked}, NFC){icu})"
    for char, base in EXTRA_FOLDS.items():
        if char == char.lower():
            folded = f"replace({folded}, {_sql_string(char)}, {_sql_string(base)})"
    separators = "".join(f"\\u{ord(char):04x}" for char in SEPARATORS)
    op.execute(
        "CREATE FUNCTION newsagg_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
        f"PARALLEL SAFE AS $$ SELECT regexp_replace({folded}, '[{separators}]+', ' ', 'g') $$"
    )
    op.execute(
        "CREATE TABLE story_search (story_id integer NOT NULL, title tsvector NOT NULL, "
        "document tsvector NOT NULL, CONSTRAINT pk_story_search PRIMARY KEY (story_id), "
        "CONSTRAINT fk_story_search_story_id_stories FOREIGN KEY (story_id) "
        "REFERENCES stories (id) ON DELETE CASCADE)"
    )
    op.execute("CREATE INDEX ix_story_search_document ON story_search USING gin (document)")
    op.execute("CREATE INDEX ix_story_search_title ON story_search USING gin (title)")
    vectors = SEARCH_VECTORS
    op.execute(
        "CREATE FUNCTION newsagg_story_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO story_search (story_id, title, document) "
        f"VALUES (NEW.id, {vectors.format('NEW')}) ON CONFLICT (story_id) DO UPDATE "
        "SET title = EXCLUDED.title, document = EXCLUDED.document; RETURN NULL; END $$"
    )
    op.execute("CREATE TRIGGER story_search_sync AFTER INSERT OR UPDATE OF title, text "
               "ON stories FOR EACH ROW EXECUTE FUNCTION newsagg_story_search_sync()")
    op.execute(f"INSERT INTO story_search (story_id, title, document) "
               f"SELECT id, {vectors.format('stories')} FROM stories")


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER story_search_sync ON stories")
        op.execute("DROP FUNCTION newsagg_story_search_sync()")
        op.execute("DROP TABLE story_search")
        op.execute("DROP FUNCTION newsagg_fold(text)")
        return
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER story_search_{name}")
    op.execute("DROP TABLE story_search")
