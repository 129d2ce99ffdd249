"""`scrapy crawl`: Scrapy's own command, with the configuration checked and the run judged.

Before anything heavy loads: settings, spider arguments, the sources file, DATABASE_URL,
JOBDIR and the lock folder are checked (one `scrapy: error:` line, exit 2), then each
source's lock is taken (refused: one line, exit 1). After the crawl the exit status says how
the run went (crawler/monitors.py): 0 healthy, 1 failed, 3 degraded, 4 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from scrapy.commands.crawl import Command
from scrapy.exceptions import UsageError

from crawler.commands._checks import check_settings, check_spider_arguments, check_writable_folder
from crawler.commands._database import checked_database_url, open_database
from crawler.commands._lock import LockRefused, RunLocks, start_urls_lock_name
from crawler.monitors import EXIT_FAILED, EXIT_KEY
from crawler.sources import SourcesConfigError, load_sources, source_from_urls

logger = logging.getLogger(__name__)


class CrawlCommand(Command):
    """Run a spider; for `news`, check everything first, lock its sources, judge the run."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's options, then the checks that need no database (before logging starts)."""
        super().process_options(args, opts)
        assert self.settings is not None
        check_settings(self.settings)
        if not args or args[0] != "news":
            return
        if opts.output or opts.overwrite_output or self.settings.getdict("FEEDS"):
            raise UsageError("feed exports (-o/-O, FEEDS) are not supported by the news "
                             "spider: it stores to DATABASE_URL; use `scrapy export -o FILE`",
                             print_help=False)
        check_spider_arguments(opts.spargs)
        url = checked_database_url(self.settings.get("DATABASE_URL"))
        self.settings.set("DATABASE_URL", url, priority="cmdline")
        if self.settings.get("JOBDIR"):
            check_writable_folder("JOBDIR", self.settings.get("JOBDIR"))
        if self.lock_dir():
            check_writable_folder("NEWS_LOCK_DIR", self.lock_dir())

    def lock_dir(self) -> str:
        """The lock folder; empty when locks (file and database) are off: NEWS_LOCK_DIR is
        empty, or REDIS_URL shares sources between processes."""
        assert self.settings is not None
        if self.settings.get("REDIS_URL"):
            return ""
        return str(self.settings.get("NEWS_LOCK_DIR") or "")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Check the sources and database, take the locks, crawl, set the exit status."""
        if not args or args[0] != "news":
            super().run(args, opts)
            return
        assert self.settings is not None
        names = self._check_news_config(opts.spargs)
        database = self.settings.get("DATABASE_URL") if self.lock_dir() else None
        try:
            with RunLocks(names, self.lock_dir(), database):
                self._crawl(args, opts)
        except LockRefused as exc:
            print(f"scrapy: {exc}", file=sys.stderr)
            self.exitcode = EXIT_FAILED

    def _crawl(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's crawl, keeping the crawler to read its verdict."""
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        assert self.crawler_process is not None
        crawler = self.crawler_process.create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed or crawler.stats is None:
            self.exitcode = EXIT_FAILED
            return
        if crawler.stats.get_value("finish_reason") is None:
            # Never closed (a second signal forced an unclean shutdown): not judged, failed.
            self.exitcode = EXIT_FAILED
            return
        self.exitcode = int(crawler.stats.get_value(EXIT_KEY, 0))

    def _check_news_config(self, spargs: dict[str, str]) -> list[str]:
        """The lock names of the run; UsageError naming the file, entry or database at fault."""
        assert self.settings is not None
        try:
            if spargs.get("start_urls"):
                urls = [u for u in spargs["start_urls"].split(",") if u.strip()]
                source_from_urls(urls)
                names = [start_urls_lock_name(urls)]
            else:
                path = Path(self.settings.get("NEWS_SOURCES_FILE"))
                names = [s.name for s in load_sources(path)]
                wanted = spargs.get("source")
                if wanted and wanted not in names:
                    raise SourcesConfigError(
                        f"{path}: no source named {wanted!r} (known: {', '.join(names)})"
                    )
                names = [wanted] if wanted else names
        except (SourcesConfigError, ValueError) as exc:
            raise UsageError(str(exc), print_help=False) from None
        engine, _sessions = open_database(self.settings)
        engine.dispose()
        return names
