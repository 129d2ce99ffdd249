"""Alembic environment: migrates the database named by the caller or DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.models import Base
from storage.session import make_engine
from storage.settings import database_url_from_env

config = context.config
target_metadata = Base.metadata


# Objects migration 0004 manages outside the models: the search index (and SQLite's FTS5
# shadow tables), which autogenerate must not offer to drop.
SEARCH_INDEX = "story_search"


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Leave the full-text search index out of autogenerate's comparison."""
    return not (type_ == "table" and name is not None
                and (name == SEARCH_INDEX or name.startswith(SEARCH_INDEX + "_")))


def _run(connection: Connection) -> None:
    """Run migrations on an open connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through a connection given by the caller, or one opened here."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes.get("database_url") or database_url_from_env())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.attributes.get("database_url") or database_url_from_env(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
