"""Run records: one crawl_runs row per source, written at spider open and completed at close
with its health (a row never completed is a run that was killed)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections import Counter
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from sqlalchemy.exc import SQLAlchemyError

from pipelines.items import PageItem
from pipelines.store import story_stored
from storage.migrate import migrated_engine
from storage.models import CrawlRun
from storage.runs import FILL_FIELDS, fill_rates, record_run, run_status
from storage.session import make_sessionmaker

logger = logging.getLogger(__name__)

def source_names(spider: Spider) -> list[str]:
    """The names of the sources a spider crawls (one run record and lock each)."""
    return sorted({s.name for s in getattr(spider, "sources", ())})


def filled_fields(item: PageItem) -> list[str]:
    """The FILL_FIELDS an item's article has a value for."""
    article = item.article
    if article is None:
        return []
    values = {"title": article.title, "body": article.text, "authors": article.authors,
              "published_at": article.published_at, "language": item.language}
    return [name for name in FILL_FIELDS if values[name]]


class RunRecordExtension:
    """Count each source's pages, outcomes and filled fields; write a crawl_runs row at close."""

    def __init__(self, crawler: Crawler, database_url: str, window: int, drop_ratio: float,
                 min_runs: int, max_error_rate: float = 1.0, min_errors: int = 1) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.window = window
        self.drop_ratio = drop_ratio
        self.min_runs = min_runs
        self.max_error_rate = max_error_rate
        self.min_errors = min_errors
        self.started_at = dt.datetime.now(dt.UTC)
        self.filled: dict[str, Counter[str]] = {}
        self.body_chars: Counter[str] = Counter()
        # The ids of the rows written at spider open, by source.
        self.row_ids: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecordExtension:
        """Off when NEWS_RUNS_ENABLED is False or DATABASE_URL is empty."""
        settings = crawler.settings
        if not settings.getbool("NEWS_RUNS_ENABLED") or not settings.get("DATABASE_URL"):
            raise NotConfigured("no run records")
        ext = cls(crawler, settings.get("DATABASE_URL"), settings.getint("NEWS_HEALTH_WINDOW"),
                  settings.getfloat("NEWS_HEALTH_DROP_RATIO"),
                  settings.getint("NEWS_HEALTH_MIN_RUNS"),
                  settings.getfloat("NEWS_HEALTH_MAX_ERROR_RATE"),
                  settings.getint("NEWS_HEALTH_MIN_ERRORS"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.story_stored, signal=story_stored)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _inc(self, key: str) -> None:
        """Increment a stats counter."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    def spider_opened(self, spider: Spider) -> None:
        """Note the start time; write each source's row, unfinished, with this process's id.

        If the process is killed, that row stays unfinished and `scrapy runs` shows it
        killed. A database that refuses the rows now gets them at close (or reports then).
        """
        self.started_at = dt.datetime.now(dt.UTC)
        try:
            with make_sessionmaker(migrated_engine(self.database_url)).begin() as session:
                rows = {source: CrawlRun(source=source, hostname=socket.gethostname(),
                                         pid=os.getpid(), started_at=self.started_at,
                                         errors={}, fill_rates={})
                        for source in source_names(spider)}
                session.add_all(rows.values())
                session.flush()
                self.row_ids = {source: row.id for source, row in rows.items()}
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("Could not write the run records at start (written at close): %s",
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        """Count a fetched page for its source."""
        source = request.meta.get("source")
        if source:
            self._inc(f"news/fetch/pages/{source}")

    def story_stored(self, item: PageItem) -> None:
        """Count the filled fields of a committed article."""
        if isinstance(item, PageItem):
            counts = self.filled.setdefault(item.source, Counter())
            counts.update(filled_fields(item))
            if item.article is not None:
                self.body_chars[item.source] += len(item.article.text or "")
            self._inc(f"news/store/stored/{item.source}")

    def item_dropped(self, item: Any, response: Response, exception: BaseException,
                     spider: Spider) -> None:
        """Count a page the extract stage found no article in as not an article."""
        if isinstance(item, PageItem) and item.article is None:
            self._inc(f"news/extract/not_article/{item.source}")

    def run_for(self, source: str, reason: str, run: CrawlRun | None = None) -> CrawlRun:
        """The run record of one source from the crawl's stats: `run` (its row written at
        start) completed, or a new one."""
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()

        def count(key: str) -> int:
            return int(stats.get(f"{key}/{source}", 0))

        errors = {
            key.removeprefix("news/errors/").removesuffix(f"/{source}"): int(value)
            for key, value in sorted(stats.items())
            if key.startswith("news/errors/") and key.endswith(f"/{source}")
        }
        if run is None:
            run = CrawlRun(source=source, hostname=socket.gethostname(), pid=os.getpid(),
                           started_at=self.started_at)
        run.finished_at = dt.datetime.now(dt.UTC)
        run.finish_reason = reason
        run.pages_fetched = count("news/fetch/pages")
        run.stories_new = count("news/store/new")
        run.stories_updated = count("news/store/updated")
        run.stories_duplicate = count("news/store/duplicate")
        run.not_articles = count("news/spider/listing_pages") + count("news/extract/not_article")
        run.errors = errors
        run.fill_rates = fill_rates(self.filled.get(source, Counter()),
                                    count("news/store/stored"), self.body_chars[source])
        return run

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Write one run record per source; note degraded sources in the stats.

        The crawl is over: nothing else waits on the reactor, and the write must be done
        before Spidermon's close monitors (a later extension) read the notes, so it runs
        here, through the process's shared engine.
        """
        assert self.crawler.stats is not None
        notes: list[str] = []
        try:
            with make_sessionmaker(migrated_engine(self.database_url)).begin() as session:
                for source in source_names(spider):
                    row_id = self.row_ids.get(source)
                    started = session.get(CrawlRun, row_id) if row_id is not None else None
                    run = record_run(session, self.run_for(source, reason, started),
                                     window=self.window,
                                     drop_ratio=self.drop_ratio, min_runs=self.min_runs,
                                     max_error_rate=self.max_error_rate,
                                     min_errors=self.min_errors)
                    logger.info("Run of %s: %d pages, %d new, %d updated, %d duplicate (%s)",
                                run.source, run.pages_fetched, run.stories_new,
                                run.stories_updated, run.stories_duplicate,
                                run_status(run).upper())
                    if run.degraded:
                        notes.append(f"{source}: {run.health_note}")
        except (SQLAlchemyError, OSError) as exc:
            detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            logger.error("Could not write the run records: %s", detail)
            self.crawler.stats.set_value("news/runs/write_failed", detail)
        self.crawler.stats.set_value("news/health/sources", notes)
