"""Operations extensions: a per-source run lock and a run record per source at spider close."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import socket
from collections import Counter
from pathlib import Path
from typing import IO, Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.threads import deferToThread

from pipelines.items import PageItem
from pipelines.store import story_stored
from storage.migrate import migrated_engine
from storage.models import CrawlRun
from storage.runs import FILL_FIELDS, fill_rates, record_run
from storage.session import make_sessionmaker

logger = logging.getLogger(__name__)

LOCKED_REASON = "source_locked"


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


class SourceLockExtension:
    """Hold an exclusive file lock per source, so overlapping runs of a source don't both run."""

    def __init__(self, crawler: Crawler, lock_dir: Path) -> None:
        self.crawler = crawler
        self.lock_dir = lock_dir
        self.held: list[IO[str]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceLockExtension:
        """Off when NEWS_LOCK_DIR is empty, or with REDIS_URL (processes share a source)."""
        lock_dir = crawler.settings.get("NEWS_LOCK_DIR")
        if not lock_dir or crawler.settings.get("REDIS_URL"):
            raise NotConfigured("no per-source lock")
        ext = cls(crawler, Path(lock_dir))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        """Take every source's lock, or release them all and close the spider."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        for name in source_names(spider):
            handle = (self.lock_dir / f"{name}.lock").open("a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                logger.warning("Another run of source %s holds the lock %s: not crawling",
                             name, self.lock_dir / f"{name}.lock")
                self.release()
                self.crawler.stats.set_value("news/lock/refused", name)
                assert self.crawler.engine is not None
                deferred_from_coro(self.crawler.engine.close_spider_async(reason=LOCKED_REASON))
                return
            self.held.append(handle)

    def spider_closed(self, spider: Spider) -> None:
        """Release the locks."""
        self.release()

    def release(self) -> None:
        """Unlock and close every held lock file."""
        for handle in self.held:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        self.held = []


class RunRecordExtension:
    """Count each source's pages, outcomes and filled fields; write a crawl_runs row at close."""

    def __init__(self, crawler: Crawler, database_url: str, window: int, drop_ratio: float,
                 min_runs: int) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.window = window
        self.drop_ratio = drop_ratio
        self.min_runs = min_runs
        self.started_at = dt.datetime.now(dt.UTC)
        self.filled: dict[str, Counter[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecordExtension:
        """Off when NEWS_RUNS_ENABLED is False or DATABASE_URL is empty."""
        settings = crawler.settings
        if not settings.getbool("NEWS_RUNS_ENABLED") or not settings.get("DATABASE_URL"):
            raise NotConfigured("no run records")
        ext = cls(crawler, settings.get("DATABASE_URL"), settings.getint("NEWS_HEALTH_WINDOW"),
                  settings.getfloat("NEWS_HEALTH_DROP_RATIO"),
                  settings.getint("NEWS_HEALTH_MIN_RUNS"))
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
        """Note the start time."""
        self.started_at = dt.datetime.now(dt.UTC)

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
            self._inc(f"news/store/stored/{item.source}")

    def item_dropped(self, item: Any, response: Response, exception: BaseException,
                     spider: Spider) -> None:
        """Count a page the extract stage found no article in as not an article."""
        if isinstance(item, PageItem) and item.article is None:
            self._inc(f"news/extract/not_article/{item.source}")

    def run_for(self, source: str, reason: str) -> CrawlRun:
        """The run record of one source from the crawl's stats."""
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()

        def count(key: str) -> int:
            return int(stats.get(f"{key}/{source}", 0))

        errors = {
            key.removeprefix("news/errors/").removesuffix(f"/{source}"): int(value)
            for key, value in sorted(stats.items())
            if key.startswith("news/errors/") and key.endswith(f"/{source}")
        }
        return CrawlRun(
            source=source, hostname=socket.gethostname(), started_at=self.started_at,
            finished_at=dt.datetime.now(dt.UTC), finish_reason=reason,
            pages_fetched=count("news/fetch/pages"), stories_new=count("news/store/new"),
            stories_updated=count("news/store/updated"),
            stories_duplicate=count("news/store/duplicate"),
            not_articles=count("news/spider/listing_pages") + count("news/extract/not_article"),
            errors=errors,
            fill_rates=fill_rates(self.filled.get(source, Counter()),
                                  count("news/store/stored")),
        )

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """Write one run record per source (none when the run was refused by the lock).

        The records are made from the stats here and written in a thread, off the reactor.
        """
        if reason == LOCKED_REASON:
            return
        runs = [self.run_for(source, reason) for source in source_names(spider)]
        await maybe_deferred_to_future(deferToThread(self._write_runs, runs))

    def _write_runs(self, runs: list[CrawlRun]) -> None:
        """(Thread) Write the run records through the shared engine."""
        try:
            with make_sessionmaker(migrated_engine(self.database_url)).begin() as session:
                for run in runs:
                    record_run(session, run, window=self.window, drop_ratio=self.drop_ratio,
                               min_runs=self.min_runs)
                    logger.info("Run of %s: %d pages, %d new, %d updated, %d duplicate%s",
                                run.source, run.pages_fetched, run.stories_new,
                                run.stories_updated, run.stories_duplicate,
                                " (DEGRADED)" if run.degraded else "")
        except SQLAlchemyError as exc:
            logger.error("Could not write the run records: %s: %s", type(exc).__name__,
                         str(exc).splitlines()[0] if str(exc) else "")
