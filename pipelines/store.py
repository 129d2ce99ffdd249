"""Store stage: items merged into their stories, one transaction per batch."""

from __future__ import annotations

import logging
import time

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet.task import LoopingCall

from common.urls import canonical_url, host_of
from pipelines.items import PageItem
from storage.migrate import upgrade_database
from storage.models import UrlRelation
from storage.records import ArticleRecord, UnstorableRecord, storable
from storage.session import make_engine, make_sessionmaker, redact_url
from storage.write import SaveOutcome, save_article

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3

# Sent with `item` (its story_id and outcome set) once the item's story is committed. Stages
# that must only trust stored work (the near-duplicate index, the JOBDIR journal, run
# records) listen to it instead of item_scraped, which fires while the item is still buffered.
story_stored = object()


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
        near_duplicate_of=item.near_duplicate_of,
        near_duplicate_url=item.near_duplicate_url,
        http_etag=item.http_etag,
        http_last_modified=item.http_last_modified,
        fetched_url=item.url,
        variant=canonical_url(item.url) != item.canonical_url,
        original_verified=verified,
    )


class StorePipeline:
    """Write stories through SQLAlchemy to DATABASE_URL, upgrading its schema first.

    Records are buffered and written in one transaction per batch (NEWS_STORE_BATCH_SIZE
    records, or every NEWS_STORE_BATCH_SECONDS); closing the spider writes what is left.
    """

    def __init__(self, database_url: str, crawler: Crawler, batch_size: int = 1,
                 batch_seconds: float = 0.0) -> None:
        self.database_url = database_url
        self.crawler = crawler
        self.batch_size = max(1, batch_size)
        self.batch_seconds = batch_seconds
        self.engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None
        self.buffer: list[tuple[PageItem, ArticleRecord]] = []
        self.timer: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Build the stage from DATABASE_URL and NEWS_STORE_BATCH_*."""
        url = crawler.settings.get("DATABASE_URL")
        if not url:
            raise NotConfigured("DATABASE_URL is empty")
        return cls(url, crawler, crawler.settings.getint("NEWS_STORE_BATCH_SIZE"),
                   crawler.settings.getfloat("NEWS_STORE_BATCH_SECONDS"))

    def open_spider(self) -> None:
        """Open the engine, bring the schema up to date and start the batch timer."""
        self.engine = make_engine(self.database_url)
        upgrade_database(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        logger.info("Storing stories in %s", redact_url(self.database_url))
        if self.batch_size > 1 and self.batch_seconds > 0:
            self.timer = LoopingCall(self.flush)
            self.timer.start(self.batch_seconds, now=False)

    def close_spider(self) -> None:
        """Write the buffered records and release the engine's connections."""
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.flush()
        if self.engine is not None:
            self.engine.dispose()

    def process_item(self, item: PageItem) -> PageItem:
        """Buffer the item's record; write the batch once it is full."""
        try:
            record = storable(article_record(item))
        except UnstorableRecord as exc:
            self.crawler.stats.inc_value("news/store/unstorable")
            raise DropItem(f"Not storable: {exc}") from None
        self.buffer.append((item, record))
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered records in one transaction, else one transaction each."""
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        assert self.sessions is not None
        try:
            with self.sessions.begin() as session:
                saved = [(item, *save_article(session, record)) for item, record in batch]
        except SQLAlchemyError as exc:
            logger.info("Writing %d stories one by one after a batch failed (%s)",
                        len(batch), type(exc).__name__)
            saved = [(item, *result) for item, record in batch
                     if (result := self._save_one(record)) is not None]
        stats = self.crawler.stats
        assert stats is not None
        for item, outcome, story_id in saved:
            item.story_id, item.outcome = story_id, outcome.value
            stats.inc_value(f"news/store/{outcome}")
            stats.inc_value(f"news/store/{outcome}/{item.source}")
            logger.debug("%s story %d from %s", outcome, story_id, item.canonical_url)
            self.crawler.signals.send_catch_log(story_stored, item=item)
        stats.inc_value("news/store/batches")

    def _save_one(self, record: ArticleRecord) -> tuple[SaveOutcome, int] | None:
        """Merge one record in its own transaction, retrying write conflicts; None if it fails."""
        assert self.sessions is not None
        attempt = 1
        while True:
            try:
                with self.sessions.begin() as session:
                    return save_article(session, record)
            except (IntegrityError, OperationalError) as exc:
                if attempt >= SAVE_ATTEMPTS:
                    logger.error("Could not store %s: %s", record.url, exc)
                    break
                logger.info("Retrying %s after a write conflict (%s)", record.url,
                            type(exc.orig).__name__)
                time.sleep(0.05 * attempt)
                attempt += 1
            except SQLAlchemyError:
                logger.exception("Could not store %s", record.url)
                break
        self.crawler.stats.inc_value("news/store/failed")
        return None
