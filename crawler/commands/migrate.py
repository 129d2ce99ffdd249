"""`scrapy migrate`: bring DATABASE_URL to the newest schema, and say where it is."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy.exc import SQLAlchemyError

from crawler.commands._database import open_database
from storage.migrate import current_revision
from storage.session import redact_url, shared_engine


class MigrateCommand(ScrapyCommand):
    """Run the Alembic migrations once (a crawl runs them too when the schema is old)."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        """One line of help."""
        return "Upgrade the database schema to the newest migration"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Upgrade, then print the revision the database was and is at."""
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        url = self.settings.get("DATABASE_URL")
        try:
            before = current_revision(shared_engine(url))
        except (SQLAlchemyError, OSError, ValueError):
            before = None  # open_database says what is wrong
        engine, _sessions = open_database(self.settings)
        try:
            after = current_revision(engine)
        finally:
            engine.dispose()
        done = "already at" if before == after else f"upgraded from {before or 'empty'} to"
        print(f"{redact_url(url)}: {done} revision {after}")
