"""Store stage: each item merged into its story in one transaction."""

from __future__ import annotations

import logging
import time

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import PageItem
from crawler.urls import canonical_url, host_of
from storage.migrate import upgrade_database
from storage.models import UrlRelation
from storage.records import ArticleRecord
from storage.session import make_engine, make_sessionmaker, redact_url
from storage.write import save_article

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3


def article_record(item: PageItem) -> ArticleRecord:
    """The database record of a fully processed item."""
    article = item.article
    assert article is not None
    assert item.canonical_url
    assert item.content_hash
    original = canonical_url(item.credited_url) if item.credited_url else None
    if original and host_of(original) == host_of(item.canonical_url):
        original = None
    return ArticleRecord(
        url=item.canonical_url,
        site=host_of(item.canonical_url),
        source=item.source,
        title=article.title,
        text=article.text,
        content_hash=item.content_hash,
        fetched_at=item.fetched_at,
        relation=UrlRelation.AGGREGATOR if original else UrlRelation.ORIGINAL,
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
    )


class StorePipeline:
    """Write stories through SQLAlchemy to DATABASE_URL, upgrading its schema first."""

    def __init__(self, database_url: str, crawler: Crawler) -> None:
        self.database_url = database_url
        self.crawler = crawler
        self.engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Build the stage from DATABASE_URL."""
        url = crawler.settings.get("DATABASE_URL")
        if not url:
            raise NotConfigured("DATABASE_URL is empty")
        return cls(url, crawler)

    def open_spider(self) -> None:
        """Open the engine and bring the schema up to date."""
        self.engine = make_engine(self.database_url)
        upgrade_database(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        logger.info("Storing stories in %s", redact_url(self.database_url))

    def close_spider(self) -> None:
        """Release the engine's connections."""
        if self.engine is not None:
            self.engine.dispose()

    def process_item(self, item: PageItem) -> PageItem:
        """Merge the item into its story; retry when a concurrent writer got there first."""
        assert self.sessions is not None
        record = article_record(item)
        attempt = 1
        while True:
            try:
                with self.sessions.begin() as session:
                    outcome, story_id = save_article(session, record)
                break
            except (IntegrityError, OperationalError) as exc:
                if attempt >= SAVE_ATTEMPTS:
                    raise
                logger.info("Retrying %s after a write conflict (%s)", record.url,
                            type(exc.orig).__name__)
                time.sleep(0.05 * attempt)
                attempt += 1
        item.story_id = story_id
        item.outcome = outcome.value
        self.crawler.stats.inc_value(f"news/store/{outcome}")
        self.crawler.stats.inc_value(f"news/store/{outcome}/{record.source}")
        logger.debug("%s story %d from %s", outcome, story_id, record.url)
        return item
