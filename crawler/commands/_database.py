"""What the database commands share: checking DATABASE_URL and opening it as sessions."""

from __future__ import annotations

from pathlib import Path

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.settings import DEFAULT_DATABASE_URL
from storage.migrate import migrated_engine
from storage.session import hide_password, make_sessionmaker, redact_url

SUPPORTED = ("sqlite", "postgresql")
POSTGRES_DRIVER = "postgresql+psycopg"


def refuse(url: str, detail: str) -> UsageError:
    """The one-line error about a database URL (its password hidden)."""
    return UsageError(f"cannot open database {redact_url(url)}: {hide_password(detail, url)}",
                      print_help=False)


def checked_database_url(url: str) -> str:
    """The URL to use: `postgres://` and `postgresql://` mean PostgreSQL through psycopg;
    other dialects, and a SQLite file in a missing folder (other than the default's), are
    refused with UsageError."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise refuse(url, f"not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgres" or (backend == "postgresql" and "+" not in parsed.drivername):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
        backend = "postgresql"
    if backend not in SUPPORTED:
        raise refuse(url, f"unsupported database {backend!r} (supported: {', '.join(SUPPORTED)})")
    database = parsed.database or ""
    if backend == "sqlite" and database not in ("", ":memory:") and not database.startswith(
            "file:") and url != DEFAULT_DATABASE_URL:
        folder = Path(database).parent
        if not folder.is_dir():
            raise refuse(url, f"folder {folder} does not exist (create it, or fix the path)")
    return parsed.render_as_string(hide_password=False)


def open_database(settings: BaseSettings) -> tuple[Engine, sessionmaker[Session]]:
    """Connect to DATABASE_URL with an up-to-date schema, or fail with one clear message.

    The engine is the process's shared one (storage.session.shared_engine): a crawl's
    components use it again, without checking the schema again.
    """
    url = checked_database_url(settings.get("DATABASE_URL"))
    try:
        engine = migrated_engine(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise refuse(url, f"{type(exc).__name__}: {detail}") from None
    return engine, make_sessionmaker(engine)
