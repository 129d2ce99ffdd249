"""Bring a database to the newest schema with the bundled Alembic migrations."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from common.resources import package_dir
from storage.session import shared_engine

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

# The migrations folder; copied to disk first when storage runs from a zipped egg (scrapyd).
MIGRATIONS_DIR = package_dir("storage", "migrations")
# Any fixed number: the PostgreSQL advisory lock that serializes schema upgrades.
UPGRADE_LOCK_ID = 0x6E657773

# Database URLs this process has brought to the newest schema (migrated_engine).
_upgraded: set[str] = set()
_upgrade_lock = threading.Lock()


# Alembic is imported where it is used: it takes about a second to import (through mako and
# pygments), which every scrapy command would pay at start-up, --help and refusals included.


def alembic_config() -> Config:
    """An Alembic configuration pointing at the bundled migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision a database is at, None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _lock_schema(conn: Connection) -> None:
    """Hold the database's schema lock until the transaction ends (one upgrader at a time)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_ID})")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade_database(engine: Engine) -> None:
    """Upgrade an empty or older database to the newest schema (no-op when current).

    Safe when several crawlers start at once: the upgrade runs under a database lock and
    re-reads the revision once it holds it.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    if current_revision(engine) == head:
        return
    config = alembic_config()
    with engine.begin() as conn:
        _lock_schema(conn)
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        logger.info("Upgrading database schema from %s to %s", current or "empty", head)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def migrated_engine(url: str) -> Engine:
    """The process's shared engine for URL, its schema upgraded once per process.

    The first component to open a database during a crawl start runs the migrations; the
    others (and later calls) get the same engine without checking the schema again.
    """
    engine = shared_engine(url)
    with _upgrade_lock:
        if url not in _upgraded:
            upgrade_database(engine)
            _upgraded.add(url)
    return engine
