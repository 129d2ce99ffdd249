"""Incremental crawls: known article URLs are skipped, or revisited with a conditional GET.

The lookups of the article requests one callback yields are made together, in one query per
LOOKUP_BATCH URLs (IncrementalLookahead, a spider middleware), before they reach the scheduler;
the downloader middleware takes each request's answer from there, and looks up the rest (a
redirect's target, a request whose answer was dropped) one by one as before.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy.exc import SQLAlchemyError
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
# Canonical URLs per lookup query (SQLite allows 32,766 bound parameters a statement).
LOOKUP_BATCH = 500
# Answers looked up ahead and not yet taken by their request; beyond this the oldest go.
ANSWERS_KEPT = 20_000
# Per crawl: its IncrementalCrawlMiddleware, whose answers IncrementalLookahead fills ahead.
CRAWL_LOOKUPS: WeakKeyDictionary[Crawler, IncrementalCrawlMiddleware] = WeakKeyDictionary()


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
        # request URL -> the stored URL its canonical URL stands for (None: not known),
        # looked up ahead by the spider middleware, taken by the request's process_request
        self.answers: OrderedDict[str, KnownUrl | None] = OrderedDict()

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
        CRAWL_LOOKUPS[crawler] = middleware
        return middleware

    def spider_opened(self) -> None:
        """Open the shared engine; URLs stored from now on are this crawl's, not known."""
        self.started_at = dt.datetime.now(dt.UTC)
        self.sessions = make_sessionmaker(migrated_engine(self.database_url))
        logger.info("Incremental crawl: known URLs looked up per request, recrawl interval %s s",
                    self.recrawl_interval or "never")

    def _known(self, keys: list[str]) -> dict[str, KnownUrl | None]:
        """(Thread) The stored URL each canonical URL of KEYS stands for (None: not known),
        one query per LOOKUP_BATCH keys."""
        assert self.sessions is not None
        rows: dict[str, list[tuple[str, dt.datetime, str | None, str | None]]] = {}
        with self.sessions() as session:
            for start in range(0, len(keys), LOOKUP_BATCH):
                for row in known_urls_at(session, keys[start:start + LOOKUP_BATCH],
                                         self.started_at):
                    rows.setdefault(row[0], []).append(row[1:])
        return {key: known_urls(rows.get(key, ())).get(key) for key in keys}

    async def look_ahead(self, urls: Iterable[str]) -> None:
        """Look the canonical URLs of URLS up together; each request takes its answer later,
        by its URL.

        A failed query leaves them to the per-request lookups."""
        keys = {url: canonical_url(url) for url in urls if url not in self.answers}
        if not keys or self.sessions is None:
            return
        try:
            found = await maybe_deferred_to_future(
                deferToThread(self._known, list(dict.fromkeys(keys.values()))))
        except SQLAlchemyError as exc:
            logger.debug("Known-URL lookup of %d URLs failed (%s): looked up one by one",
                         len(keys), exc)
            return
        self.answers.update((url, found[key]) for url, key in keys.items())
        while len(self.answers) > ANSWERS_KEPT:
            self.answers.popitem(last=False)

    def _count(self, key: str) -> None:
        """Increment a news/incremental/* stats counter."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"news/incremental/{key}")

    async def process_request(self, request: Request) -> None:
        """Drop a known article URL, or make its revisit conditional once the interval passed."""
        if not is_lookup_candidate(request):
            return
        if request.url in self.answers:
            known = self.answers.pop(request.url)
            self._count("answered_ahead")
        else:
            key = canonical_url(request.url)
            known = (await maybe_deferred_to_future(deferToThread(self._known, [key])))[key]
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


def is_lookup_candidate(entry: object) -> bool:
    """Whether ENTRY is a request IncrementalCrawlMiddleware looks up (an article candidate)."""
    return (isinstance(entry, Request) and bool(entry.meta.get(ARTICLE_CANDIDATE))
            and REVISIT not in entry.meta)


class IncrementalLookahead:
    """Spider middleware: the article requests a callback yields are looked up together.

    Its other output passes at once; the article requests follow it, in their order, once
    their lookup is done (the spider yields them last anyway). Placed last on the output's
    way (a low order), it sees only the requests the other spider middlewares kept.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalLookahead:
        """Build the middleware where IncrementalCrawlMiddleware is on."""
        settings = crawler.settings
        if not settings.getbool("NEWS_INCREMENTAL") or not settings.get("DATABASE_URL"):
            raise NotConfigured("no incremental crawl")
        return cls(crawler)

    def lookups(self) -> IncrementalCrawlMiddleware | None:
        """The crawl's IncrementalCrawlMiddleware, if its downloader has one."""
        return CRAWL_LOOKUPS.get(self.crawler)

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]
                                    ) -> AsyncIterator[Any]:
        """Pass the output on; the article requests after one lookup of them all."""
        held: list[Request] = []
        async for entry in result:
            if is_lookup_candidate(entry):
                held.append(entry)
            else:
                yield entry
        lookups = self.lookups()
        if held and lookups is not None:
            await lookups.look_ahead(request.url for request in held)
        for request in held:
            yield request
