"""`scrapy stories`: a table of the stored stories."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand

from crawler.commands._database import open_database
from crawler.commands._table import format_table
from crawler.commands.export import check_source
from storage.read import iter_stories, stored_sources

COLUMNS = ("title", "language", "site", "original_url", "urls")


class StoriesCommand(ScrapyCommand):
    """Print the stored stories as a table."""

    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        """One line of help."""
        return "Print the stored stories: title, language, site, original URL, URLs seen"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The table's options."""
        super().add_options(parser)
        parser.add_argument("--language", metavar="CODE", help="only stories in this language")
        parser.add_argument("--source", metavar="NAME", help="only stories from this source")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Print the table and a count."""
        assert self.settings is not None
        engine, sessions = open_database(self.settings)
        try:
            with sessions() as session:
                if opts.source is not None:
                    check_source(self.settings, opts.source, stored_sources(session))
                rows = [
                    (s.title, s.language, s.site, s.original_url, len(s.seen_urls))
                    for s in iter_stories(session, language=opts.language, source=opts.source)
                ]
        finally:
            engine.dispose()
        print(format_table(COLUMNS, rows, (60, 8, 22, 48, 4)))
        print(f"\n{len(rows)} stories")
