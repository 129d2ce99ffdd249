"""Store stage: items merged into their stories, one transaction per batch, off the reactor."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall

from common.urls import canonical_url, host_of
from pipelines.items import PageItem
from pipelines.neardup import NearDuplicateFinder, from_bytes
from storage.migrate import migrated_engine
from storage.models import UrlRelation
from storage.read import near_duplicate_candidates
from storage.records import ArticleRecord, UnstorableRecord, storable
from storage.session import (
    dispose_shared_engines,
    make_sessionmaker,
    redact_url,
    unwritable_reason,
)
from storage.write import SaveOutcome, lock_story_keys, save_article

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3
# The close reason of a crawl stopped because its database cannot take writes (disk full).
UNWRITABLE_REASON = "database_unwritable"
UNWRITABLE_KEY = "news/store/unwritable"

# Sent with `item` (its story_id and outcome set) once the item's story is committed. Stages
# that must only trust stored work (the near-duplicate index, the JOBDIR journal, run
# records) listen to it instead of item_scraped, which fires while the item is still buffered.
story_stored = object()
# Sent with `item` when its record could not be written (counted in news/store/failed).
story_failed = object()


def article_record(item: PageItem) -> ArticleRecord:
    """The database record of a fully processed item."""
    article = item.article
    assert article is not None
    assert item.canonical_url
    assert item.content_hash
    original = canonical_url(item.credited_url) if item.credited_url else None
    if original and host_of(original) == host_of(item.canonical_url):
        original = None
    verified = item.credit_verified is not False
    return ArticleRecord(
        url=item.canonical_url,
        site=host_of(item.canonical_url),
        source=item.source,
        title=article.title,
        text=article.text,
        content_hash=item.content_hash,
        fetched_at=item.fetched_at,
        relation=UrlRelation.AGGREGATOR if original and verified else UrlRelation.ORIGINAL,
        authors=list(article.authors),
        published_at=article.published_at,
        language=item.language,
        language_probability=item.language_probability,
        language_method=item.language_method,
        original_url=original,
        publisher=article.publisher,
        aliases=tuple(item.aliases),
        alias_kinds=tuple(sorted(item.alias_kinds.items())),
        minhash=item.minhash,
        bands=item.bands,
        http_etag=item.http_etag,
        http_last_modified=item.http_last_modified,
        fetched_url=item.url,
        variant=canonical_url(item.url) != item.canonical_url,
        original_verified=verified,
    )


# What writing one record did: its outcome, story id and the near-duplicate story it matched.
Saved = tuple[SaveOutcome, int, int | None]


def with_near_duplicate(session: Session, record: ArticleRecord, finder: NearDuplicateFinder
                        ) -> ArticleRecord:
    """The record with near_duplicate_of set to the most similar stored story, if any.

    Candidates are the stories sharing a band key (storage/read.py), read in the writing
    transaction: the records written before this one, in this batch too, are among them.
    """
    if record.minhash is None or not record.bands:
        return record
    candidates = near_duplicate_candidates(session, record.bands)
    match = finder.best_match(from_bytes(record.minhash), candidates)
    if match is None:
        return record
    logger.debug("%s is a near-duplicate of story %d (similarity %.2f)", record.url,
                 match[0], match[1])
    return dataclasses.replace(record, near_duplicate_of=match[0])


def write_record(session: Session, record: ArticleRecord, finder: NearDuplicateFinder,
                 batched: bool = False) -> Saved:
    """Merge one record (its near-duplicate found first) in the session's transaction.

    The record's story keys are locked before with_near_duplicate runs (by save_article,
    unless BATCHED: write_batch made its records storable and locked their keys), so a
    concurrent writer of a near-duplicate commits before this one looks for candidates, or
    waits for this one.
    """
    near: list[int | None] = [None]

    def find_near_duplicate(session: Session, record: ArticleRecord) -> ArticleRecord:
        record = with_near_duplicate(session, record, finder)
        near[0] = record.near_duplicate_of
        return record

    outcome, story_id = save_article(session, record, find_near_duplicate, batched)
    return outcome, story_id, near[0]


def write_batch(session: Session, records: list[ArticleRecord], finder: NearDuplicateFinder
                ) -> list[Saved]:
    """Merge a batch of records in the session's transaction, their story keys locked first.

    All the batch's keys are locked up front, in one order (lock_story_keys), so two writers
    whose batches hold the same stories in crossed order do not deadlock; they are held until
    the transaction ends, so no record locks them again (two queries a record on PostgreSQL).
    """
    records = [storable(record) for record in records]
    lock_story_keys(session, records)
    return [write_record(session, record, finder, batched=True) for record in records]


class StorePipeline:
    """Write stories through SQLAlchemy to DATABASE_URL, upgrading its schema first.

    Records are buffered and written in one transaction per batch (NEWS_STORE_BATCH_SIZE
    records, or every NEWS_STORE_BATCH_SECONDS); closing the spider writes what is left.
    Batches are written, in order, by one writer thread, never on the reactor: the item that
    fills a batch waits (without blocking) until its batch is written, so at most one batch
    per item in progress is queued. Results and story_stored signals come back on the reactor.
    A write that fails because the database cannot take writes at all (a full disk) is not
    retried: the crawl stops at once with one ERROR line (close reason database_unwritable).
    """

    def __init__(self, database_url: str, crawler: Crawler, finder: NearDuplicateFinder,
                 batch_size: int = 1, batch_seconds: float = 0.0) -> None:
        self.database_url = database_url
        self.crawler = crawler
        self.finder = finder
        self.batch_size = max(1, batch_size)
        self.batch_seconds = batch_seconds
        self.sessions: sessionmaker[Session] | None = None
        self.writer: ThreadPoolExecutor | None = None
        self.buffer: list[tuple[PageItem, ArticleRecord]] = []
        self.timer: LoopingCall | None = None
        self.unwritable: str | None = None
        self.stopping: Deferred[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Build the stage from DATABASE_URL, NEWS_STORE_BATCH_* and NEWS_DEDUP_*."""
        settings = crawler.settings
        url = settings.get("DATABASE_URL")
        if not url:
            raise NotConfigured("DATABASE_URL is empty")
        finder = NearDuplicateFinder(settings.getfloat("NEWS_DEDUP_THRESHOLD"),
                                     settings.getint("NEWS_DEDUP_NUM_PERM"))
        crawler.signals.connect(dispose_shared_engines, signal=signals.engine_stopped)
        return cls(url, crawler, finder, settings.getint("NEWS_STORE_BATCH_SIZE"),
                   settings.getfloat("NEWS_STORE_BATCH_SECONDS"))

    def open_spider(self) -> None:
        """Open the shared engine (schema brought up to date once), the writer and the timer."""
        self.sessions = make_sessionmaker(migrated_engine(self.database_url))
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="news-store")
        logger.info("Storing stories in %s", redact_url(self.database_url))
        if self.batch_size > 1 and self.batch_seconds > 0:
            self.timer = LoopingCall(self._timed_flush)
            self.timer.start(self.batch_seconds, now=False)

    async def close_spider(self) -> None:
        """Write the buffered records and stop the writer thread."""
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        await self.flush()
        if self.writer is not None:
            self.writer.shutdown(wait=True)

    async def process_item(self, item: PageItem) -> PageItem:
        """Buffer the item's record; write the batch once it is full."""
        try:
            record = storable(article_record(item))
        except UnstorableRecord as exc:
            self.crawler.stats.inc_value("news/store/unstorable")
            raise DropItem(f"Not storable: {exc}") from None
        self.buffer.append((item, record))
        if len(self.buffer) >= self.batch_size:
            await self.flush()
        return item

    def _timed_flush(self) -> Deferred[None]:
        """The timer's flush (the timer waits for it before counting the next interval)."""
        return deferred_from_coro(self.flush())

    async def flush(self) -> None:
        """Write the buffered records in the writer thread; then count them and signal each."""
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        assert self.writer is not None
        records = [record for _item, record in batch]
        results = await asyncio.wrap_future(self.writer.submit(self._write, records))
        stats = self.crawler.stats
        assert stats is not None
        for (item, _record), saved in zip(batch, results, strict=True):
            if saved is None:
                stats.inc_value("news/store/failed")
                self.crawler.signals.send_catch_log(story_failed, item=item)
                continue
            outcome, story_id, near_id = saved
            item.story_id, item.outcome, item.near_duplicate_of = story_id, outcome.value, near_id
            if near_id is not None:
                stats.inc_value("news/dedup/near_duplicate_candidates")
            stats.inc_value(f"news/store/{outcome}")
            stats.inc_value(f"news/store/{outcome}/{item.source}")
            logger.debug("%s story %d from %s", outcome, story_id, item.canonical_url)
            self.crawler.signals.send_catch_log(story_stored, item=item)
        stats.inc_value("news/store/batches")
        if self.unwritable and self.stopping is None:
            self.stop_crawl(self.unwritable)

    def stop_crawl(self, reason: str) -> None:
        """Log why the database cannot be written, once, and close the spider."""
        assert self.crawler.stats is not None
        assert self.crawler.engine is not None
        logger.error("The database cannot be written (%s): stopping the crawl", reason)
        self.crawler.stats.set_value(UNWRITABLE_KEY, reason)
        self.stopping = deferred_from_coro(
            self.crawler.engine.close_spider_async(reason=UNWRITABLE_REASON))
        self.stopping.addErrback(lambda failure: logger.debug("Close: %s", failure.value))

    def _write(self, records: list[ArticleRecord]) -> list[Saved | None]:
        """(Writer thread) The records in one transaction, else one transaction each."""
        assert self.sessions is not None
        try:
            with self.sessions.begin() as session:
                return [*write_batch(session, records, self.finder)]
        except SQLAlchemyError as exc:
            if self._note_unwritable(exc):
                return [None] * len(records)
            logger.info("Writing %d stories one by one after a batch failed (%s)",
                        len(records), type(exc).__name__)
            return [self._write_one(record) for record in records]

    def _write_one(self, record: ArticleRecord) -> Saved | None:
        """(Writer thread) Merge one record in its own transaction, retrying write conflicts
        after a short sleep of this thread; None if it fails."""
        assert self.sessions is not None
        attempt = 1
        while True:
            try:
                with self.sessions.begin() as session:
                    return write_record(session, record, self.finder)
            except (IntegrityError, OperationalError) as exc:
                if self._note_unwritable(exc):
                    return None
                if attempt >= SAVE_ATTEMPTS:
                    logger.error("Could not store %s: %s", record.url, exc)
                    return None
                logger.info("Retrying %s after a write conflict (%s)", record.url,
                            type(exc.orig).__name__)
                time.sleep(0.05 * attempt)
                attempt += 1
            except SQLAlchemyError as exc:
                if self._note_unwritable(exc):
                    return None
                logger.exception("Could not store %s", record.url)
                return None

    def _note_unwritable(self, exc: BaseException) -> bool:
        """(Writer thread) Whether `exc` means the database takes no writes; keeps why."""
        reason = unwritable_reason(exc)
        if reason is not None:
            self.unwritable = self.unwritable or reason
        return reason is not None
