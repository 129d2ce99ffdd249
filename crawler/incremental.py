"""Incremental crawls: known article URLs are skipped, or revisited with a conditional GET."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.urls import canonical_url
from storage.migrate import upgrade_database
from storage.read import iter_known_urls
from storage.session import make_engine, make_sessionmaker
from storage.write import touch_url

logger = logging.getLogger(__name__)

# Request.meta keys: set by the spider on article-candidate pages; set here on revisits.
ARTICLE_CANDIDATE = "news_article_candidate"
REVISIT = "news_revisit"


@dataclass(frozen=True)
class KnownUrl:
    """A stored URL: when it was last seen and the validators its last response carried."""

    url: str
    last_seen: dt.datetime
    etag: str | None
    last_modified: str | None


def known_urls(rows: list[tuple[str, dt.datetime, str | None, str | None]]
               ) -> dict[str, KnownUrl]:
    """Stored URLs keyed by canonical URL; the most recently seen row wins a shared key."""
    known: dict[str, KnownUrl] = {}
    for url, last_seen, etag, last_modified in rows:
        key = canonical_url(url)
        current = known.get(key)
        if current is None or (last_seen, url == key) > (current.last_seen, current.url == key):
            known[key] = KnownUrl(url, last_seen, etag, last_modified)
    return known


def conditional_headers(known: KnownUrl) -> dict[str, str]:
    """If-None-Match / If-Modified-Since for a revisit, from the stored validators."""
    headers = {}
    if known.etag:
        headers["If-None-Match"] = known.etag
    if known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    return headers


class IncrementalCrawlMiddleware:
    """Skip article pages already stored; after NEWS_RECRAWL_INTERVAL, revisit conditionally.

    Only requests the spider marks as article candidates are affected: robots.txt, feeds,
    sitemaps, start and listing pages are always fetched. A 304 answer updates the URL's
    last_seen and is not passed on.
    """

    def __init__(self, crawler: Crawler, database_url: str, recrawl_interval: float) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.recrawl_interval = recrawl_interval
        self.known: dict[str, KnownUrl] = {}
        self.engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalCrawlMiddleware:
        """Build the middleware unless NEWS_INCREMENTAL is off or there is no database."""
        settings = crawler.settings
        if not settings.getbool("NEWS_INCREMENTAL"):
            raise NotConfigured("NEWS_INCREMENTAL is False")
        if not settings.get("DATABASE_URL"):
            raise NotConfigured("DATABASE_URL is empty")
        middleware = cls(crawler, settings.get("DATABASE_URL"),
                         settings.getfloat("NEWS_RECRAWL_INTERVAL"))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        """Load the stored URLs."""
        self.engine = make_engine(self.database_url)
        upgrade_database(self.engine)
        self.sessions = make_sessionmaker(self.engine)
        with self.sessions() as session:
            self.known = known_urls(list(iter_known_urls(session)))
        logger.info("Incremental crawl: %d known URLs, recrawl interval %s s",
                    len(self.known), self.recrawl_interval or "never")

    def spider_closed(self) -> None:
        """Release the engine's connections."""
        if self.engine is not None:
            self.engine.dispose()

    def _count(self, key: str) -> None:
        """Increment a news/incremental/* stats counter."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"news/incremental/{key}")

    def process_request(self, request: Request) -> None:
        """Drop a known article URL, or make its revisit conditional once the interval passed."""
        if not self.known or not request.meta.get(ARTICLE_CANDIDATE) or REVISIT in request.meta:
            return
        known = self.known.get(canonical_url(request.url))
        if known is None:
            return
        age = (dt.datetime.now(dt.UTC) - known.last_seen).total_seconds()
        if self.recrawl_interval <= 0 or age < self.recrawl_interval:
            self._count("skipped")
            logger.debug("Skipping known article %s", request.url)
            raise IgnoreRequest(f"known article {request.url}")
        request.meta[REVISIT] = known.url
        for name, value in conditional_headers(known).items():
            request.headers[name] = value
        self._count("revisited")

    def process_response(self, request: Request, response: Response) -> Response:
        """Record a 304 answer to a revisit as a sighting; pass everything else on."""
        stored = request.meta.get(REVISIT)
        if response.status != 304 or not stored:
            return response
        assert self.sessions is not None
        etag = response.headers.get(b"ETag")
        last_modified = response.headers.get(b"Last-Modified")
        with self.sessions.begin() as session:
            touch_url(session, stored, dt.datetime.now(dt.UTC),
                      etag.decode("latin-1") if etag else None,
                      last_modified.decode("latin-1") if last_modified else None)
        self._count("not_modified")
        logger.debug("Not modified: %s", request.url)
        raise IgnoreRequest(f"not modified {request.url}")
