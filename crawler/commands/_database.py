"""What the database commands share: opening DATABASE_URL as a session factory."""

from __future__ import annotations

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.migrate import migrated_engine
from storage.session import hide_password, make_sessionmaker, redact_url


def open_database(settings: BaseSettings) -> tuple[Engine, sessionmaker[Session]]:
    """Connect to DATABASE_URL with an up-to-date schema, or fail with one clear message.

    The engine is the process's shared one (storage.session.shared_engine): a crawl's
    components use it again, without checking the schema again.
    """
    url = settings.get("DATABASE_URL")
    try:
        engine = migrated_engine(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        detail = hide_password(str(exc).splitlines()[0] if str(exc) else "", url)
        raise UsageError(
            f"cannot open database {redact_url(url)}: {type(exc).__name__}: {detail}",
            print_help=False,
        ) from None
    return engine, make_sessionmaker(engine)
