"""What the database commands share: opening DATABASE_URL as a session factory."""

from __future__ import annotations

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.migrate import upgrade_database
from storage.session import hide_password, make_engine, make_sessionmaker, redact_url


def open_database(settings: BaseSettings) -> tuple[Engine, sessionmaker[Session]]:
    """Connect to DATABASE_URL with an up-to-date schema, or fail with one clear message."""
    url = settings.get("DATABASE_URL")
    try:
        engine = make_engine(url)
        upgrade_database(engine)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        detail = hide_password(str(exc).splitlines()[0] if str(exc) else "", url)
        raise UsageError(
            f"cannot open database {redact_url(url)}: {type(exc).__name__}: {detail}",
            print_help=False,
        ) from None
    return engine, make_sessionmaker(engine)
