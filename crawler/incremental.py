"""Incremental crawls: known article URLs are skipped, or revisited with a conditional GET."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet.threads import deferToThread

from common.urls import canonical_url
from storage.migrate import migrated_engine
from storage.read import known_urls_at
from storage.session import make_sessionmaker
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


def known_urls(rows: Iterable[tuple[str, dt.datetime, str | None, str | None]]
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
    sitemaps, start and listing pages are always fetched. Each is looked up by its canonical
    URL (an indexed query, in a thread, never on the reactor) among the URLs stored before the
    crawl started. A 304 answer updates the URL's last_seen and is not passed on.
    """

    def __init__(self, crawler: Crawler, database_url: str, recrawl_interval: float) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.recrawl_interval = recrawl_interval
        self.started_at = dt.datetime.now(dt.UTC)
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
        return middleware

    def spider_opened(self) -> None:
        """Open the shared engine; URLs stored from now on are this crawl's, not known."""
        self.started_at = dt.datetime.now(dt.UTC)
        self.sessions = make_sessionmaker(migrated_engine(self.database_url))
        logger.info("Incremental crawl: known URLs looked up per request, recrawl interval %s s",
                    self.recrawl_interval or "never")

    def _known(self, key: str) -> KnownUrl | None:
        """(Thread) The stored URL a request's canonical URL stands for, if any."""
        assert self.sessions is not None
        with self.sessions() as session:
            rows = known_urls_at(session, [key], self.started_at)
        return known_urls([row[1:] for row in rows]).get(key)

    def _count(self, key: str) -> None:
        """Increment a news/incremental/* stats counter."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"news/incremental/{key}")

    async def process_request(self, request: Request) -> None:
        """Drop a known article URL, or make its revisit conditional once the interval passed."""
        if not request.meta.get(ARTICLE_CANDIDATE) or REVISIT in request.meta:
            return
        known = await maybe_deferred_to_future(
            deferToThread(self._known, canonical_url(request.url)))
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

    async def process_response(self, request: Request, response: Response) -> Response:
        """Record a 304 answer to a revisit as a sighting; pass everything else on."""
        stored = request.meta.get(REVISIT)
        if response.status != 304 or not stored:
            return response
        etag = response.headers.get(b"ETag")
        last_modified = response.headers.get(b"Last-Modified")
        await maybe_deferred_to_future(deferToThread(
            self._touch, stored, etag.decode("latin-1") if etag else None,
            last_modified.decode("latin-1") if last_modified else None))
        self._count("not_modified")
        logger.debug("Not modified: %s", request.url)
        raise IgnoreRequest(f"not modified {request.url}")

    def _touch(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """(Thread) Record a revisit that found URL unchanged."""
        assert self.sessions is not None
        with self.sessions.begin() as session:
            touch_url(session, url, dt.datetime.now(dt.UTC), etag, last_modified)
