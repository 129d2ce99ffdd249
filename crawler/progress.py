"""Progress a person can read: a line per source every NEWS_PROGRESS_INTERVAL seconds (pages,
stories, errors, pages per second) and a summary table per source when the crawl ends."""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.commands._table import format_table

logger = logging.getLogger(__name__)

SUMMARY_HEADER = ("source", "pages", "pages/s", "new", "updated", "duplicate", "errors")
SUMMARY_WIDTHS = (24, 7, 7, 6, 7, 9, 6)


def source_counts(stats: dict[str, Any], source: str) -> dict[str, int]:
    """A source's pages, stories (new, updated, duplicate) and errors from the crawl's stats."""
    def count(key: str) -> int:
        return int(stats.get(f"{key}/{source}", 0))

    errors = sum(int(value) for key, value in stats.items()
                 if key.startswith("news/errors/") and key.endswith(f"/{source}"))
    return {"pages": count("news/fetch/pages"), "new": count("news/store/new"),
            "updated": count("news/store/updated"), "duplicate": count("news/store/duplicate"),
            "errors": errors}


class ProgressExtension:
    """Log each source's progress at an interval and a summary table at spider close."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.started = time.monotonic()
        self.last_pages: dict[str, int] = {}
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        """Off when NEWS_PROGRESS_INTERVAL is 0."""
        interval = crawler.settings.getfloat("NEWS_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("no progress lines")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def sources(self, spider: Spider) -> list[str]:
        """The names of the sources the spider crawls."""
        return sorted({s.name for s in getattr(spider, "sources", ())})

    def spider_opened(self, spider: Spider) -> None:
        """Start the periodic line."""
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.log_progress, spider)
        self.loop.start(self.interval, now=False)

    def log_progress(self, spider: Spider) -> None:
        """One line per source: totals so far and the page rate since the last line."""
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        for source in self.sources(spider):
            counts = source_counts(stats, source)
            rate = (counts["pages"] - self.last_pages.get(source, 0)) / self.interval
            self.last_pages[source] = counts["pages"]
            logger.info("Progress %s: %d pages (%.1f/s), %d stories (%d new), %d errors",
                        source, counts["pages"], rate,
                        counts["new"] + counts["updated"] + counts["duplicate"], counts["new"],
                        counts["errors"])

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Stop the periodic line; log the summary table."""
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rows = []
        for source in self.sources(spider):
            counts = source_counts(stats, source)
            rows.append((source, counts["pages"], f"{counts['pages'] / elapsed:.1f}",
                         counts["new"], counts["updated"], counts["duplicate"],
                         counts["errors"]))
        logger.info("Crawl %s after %.0f s:\n%s", reason, elapsed,
                    format_table(SUMMARY_HEADER, rows, SUMMARY_WIDTHS))
