"""The `news` spider: discovers and fetches article pages; pipelines do the rest."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request, Response
from scrapy.settings import BaseSettings
from sqlalchemy.exc import SQLAlchemyError

from common.urls import host_of, robots_txt_url
from crawler.distributed import use_redis_frontier
from crawler.encoding import looks_binary, utf8_page
from crawler.feeds import (
    FEED_KINDS,
    GZIP_MAGIC,
    DocumentKind,
    Entry,
    UnreadableDocument,
    read_document,
    robots_sitemaps,
    sniff,
    unpack,
)
from crawler.incremental import ARTICLE_CANDIDATE
from crawler.links import fetchable_host
from crawler.monitors import SpidermonReportAtDebug
from crawler.pages import (
    Anchor,
    credited_url,
    feed_links,
    is_article_page,
    page_anchors,
    page_links,
    parse_html,
    url_looks_like_listing,
)
from crawler.resolver import configured_origins, origin_of, private_without_dns
from crawler.robots import ROBOTS_REQUEST
from crawler.sources import (
    DEFAULT_SOURCES_FILE,
    Source,
    SourcesConfigError,
    load_sources,
    source_download_slot,
    source_from_urls,
)
from crawler.spiders.crediting import CreditingSpider
from pipelines.items import PageItem
from pipelines.markers import Markers, load_markers
from pipelines.neardup import permutations
from storage.migrate import migrated_engine
from storage.runs import last_finished_starts
from storage.session import make_sessionmaker

logger = logging.getLogger(__name__)

DISCOVERY_KINDS = frozenset(DocumentKind) - {DocumentKind.HTML, DocumentKind.UNKNOWN}


class NewsSpider(SpidermonReportAtDebug, CreditingSpider):
    """Crawl configured news sources: robots.txt sitemaps, feeds and in-site links."""

    name = "news"
    # Set from settings by from_crawler (NEWS_MAX_URLS_PER_SOURCE, NEWS_DISCOVERY_MAXSIZE).
    max_urls_per_source: int
    discovery_maxsize: int

    def __init__(
        self,
        source: str | None = None,
        start_urls: str | None = None,
        sources_file: Path = DEFAULT_SOURCES_FILE,
        depth_limit: int = 3,
        follow_credits: bool = True,
        markers: Markers | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if start_urls:
            sources = [source_from_urls([u for u in start_urls.split(",") if u.strip()])]
        else:
            sources = load_sources(sources_file)
            if source:
                sources = [s for s in sources if s.name == source]
                if not sources:
                    raise ValueError(f"{sources_file}: no source named {source!r}")
        self.sources: list[Source] = sources
        self.default_depth_limit = depth_limit
        self.follow_credits = follow_credits
        self.markers = markers or load_markers()
        self.configured_hosts: frozenset[str] = frozenset(
            host for s in sources for host in s.allowed_hosts
        )
        self._by_name = {s.name: s for s in sources}
        self.requested: set[int] = set()
        self.discovered: Counter[str] = Counter()
        self.previous_runs: dict[str, dt.datetime] = {}
        self.credits = {}

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Per-host download slots from the sources' politeness options; the Redis frontier."""
        super().update_settings(settings)
        use_redis_frontier(settings, cls.name)
        try:
            sources = load_sources(Path(settings.get("NEWS_SOURCES_FILE")))
        except SourcesConfigError:
            return
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for source in sources:
            slot = source_download_slot(source)
            for host in source.allowed_hosts if slot else ():
                slots.setdefault(host, slot)
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        """Build the spider; its crawl-wide options come from settings, not -a arguments."""
        settings = crawler.settings
        kwargs["sources_file"] = Path(settings.get("NEWS_SOURCES_FILE"))
        kwargs["depth_limit"] = settings.getint("NEWS_DEPTH_LIMIT")
        kwargs["follow_credits"] = settings.getbool("NEWS_FOLLOW_CREDITS")
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_urls_per_source = settings.getint("NEWS_MAX_URLS_PER_SOURCE")
        spider.discovery_maxsize = settings.getint("NEWS_DISCOVERY_MAXSIZE")
        spider.shingle_size = settings.getint("NEWS_DEDUP_SHINGLE_SIZE")
        spider.coefficients = permutations(settings.getint("NEWS_DEDUP_NUM_PERM"))
        spider.credit_threshold = settings.getfloat("NEWS_DEDUP_THRESHOLD")
        return spider

    async def start(self) -> AsyncIterator[Request]:
        """robots.txt, configured sitemaps and feeds, then the start pages, per source."""
        if self.settings.getbool("NEWS_SKIP_OLD_ENTRIES"):
            self.previous_runs = await asyncio.to_thread(self._previous_runs)
        for request in self._start_requests():
            yield request

    def _previous_runs(self) -> dict[str, dt.datetime]:
        """When each source's last finished run started (storage.runs); {} without a store."""
        url = self.settings.get("DATABASE_URL")
        if not url:
            return {}
        try:
            with make_sessionmaker(migrated_engine(url))() as session:
                return last_finished_starts(session, [s.name for s in self.sources])
        except SQLAlchemyError as exc:
            logger.info("No previous runs read (%s): sitemap and feed entries are all kept",
                        type(exc).__name__)
            return {}

    def _start_requests(self) -> Iterator[Request]:
        """The first requests of every selected source."""
        for source in self.sources:
            meta = {"source": source.name, "news_depth": 0}
            for url in sorted({robots_txt_url(u) for u in source.start_urls}):
                yield Request(url, callback=self.parse_robots, errback=self.on_error,
                              meta={**meta, ROBOTS_REQUEST: True}, priority=20)
            for url in [*source.sitemaps, *source.feeds]:
                yield self._document_request(url, source.name)
            for url in source.start_urls:
                yield Request(url, callback=self.parse_page, meta=dict(meta),
                              errback=self.on_error, priority=10)

    def _source(self, response: Response) -> Source:
        """The source a response was fetched for."""
        return self._by_name[response.meta["source"]]

    def _depth_limit(self, source: Source) -> int:
        """The source's depth limit, else the crawl-wide one."""
        if source.options.depth_limit is not None:
            return source.options.depth_limit
        return self.default_depth_limit

    def _in_scope(self, url: str, source: Source) -> bool:
        """True for fetchable links on the source's own hosts."""
        return fetchable_host(url) in source.allowed_hosts

    def _sitemap_in_scope(self, url: str, source: Source) -> bool:
        """True for sitemaps on the source's hosts, gzipped ones (.xml.gz) included."""
        return url.startswith(("http://", "https://")) and host_of(url) in source.allowed_hosts

    def _document_request(self, url: str, source: str) -> Request:
        """A request for a discovery document (sitemap or feed, read by what it holds).

        Its meta is the source at depth 0 (none of the meta Scrapy's components keep per
        response, such as download_slot or redirect_urls) and the protocol's size limit
        (NEWS_DISCOVERY_MAXSIZE) in place of DOWNLOAD_MAXSIZE.
        """
        return Request(url, callback=self.parse_document, errback=self.on_error, priority=15,
                       meta={"source": source, "news_depth": 0,
                             "download_maxsize": self.discovery_maxsize,
                             "download_warnsize": self.discovery_maxsize})

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """Follow the sitemaps a robots.txt names (the robots middleware's own response)."""
        source = self._source(response)
        for url in robots_sitemaps(response.body, response.url):
            if self._sitemap_in_scope(url, source):
                yield self._document_request(url, source.name)

    def parse_document(self, response: Response) -> Iterator[Request | PageItem]:
        """Read a discovery document by what it holds; an HTML one is read as a page."""
        try:
            body = unpack(response.body, self.discovery_maxsize)
        except UnreadableDocument as exc:
            logger.warning("Unreadable document %s: %s", response.url, exc)
            self._count("bad_documents")
            return
        kind = sniff(body)
        if kind in DISCOVERY_KINDS:
            yield from self._discovery(response, body)
        elif kind is DocumentKind.HTML:
            page = response if isinstance(response, HtmlResponse) else response.replace(
                cls=HtmlResponse, body=body)
            yield from self.parse_page(page)
        else:
            logger.warning("Document %s is no sitemap, feed or page (%s)", response.url,
                           (response.headers.get(b"Content-Type") or b"").decode("latin-1"))
            self._count("bad_documents")

    def _discovery(self, response: Response, body: bytes) -> Iterator[Request]:
        """Follow what a sitemap index, sitemap or feed lists."""
        found = read_document(body, response.url)
        self._count(f"documents/{found.kind}")
        if not found.sitemaps and not found.pages:
            logger.warning("%s %s lists nothing (malformed or empty)", found.kind, response.url)
            self._count("bad_feeds" if found.kind in FEED_KINDS else "bad_sitemaps")
        if found.truncated:
            logger.warning("%s %s lists more than %d URLs: the rest is ignored", found.kind,
                           response.url, len(found.sitemaps) + len(found.pages))
            self._count("truncated_documents")
        source = self._source(response)
        for entry in self._recent(found.sitemaps, source.name):
            if self._sitemap_in_scope(entry.url, source):
                yield self._document_request(entry.url, source.name)
        yield from self._page_requests(self._recent(found.pages, source.name), response, depth=1)

    def _recent(self, entries: list[Entry], source: str) -> list[Entry]:
        """The entries not modified before the source's last finished run started (undated
        entries kept): what that run discovered was fetched then."""
        cutoff = self.previous_runs.get(source)
        if cutoff is None:
            return entries
        recent = [e for e in entries if e.date is None or e.date >= cutoff]
        if len(recent) < len(entries):
            self.crawler.stats.inc_value("news/spider/old_entries_skipped",
                                         len(entries) - len(recent))
        return recent

    def _page_requests(self, entries: list[Entry], response: Response, depth: int
                       ) -> Iterator[Request]:
        """Requests for in-scope pages at a depth within the source's limit."""
        source = self._source(response)
        if depth > self._depth_limit(source):
            return
        yield from self._new_page_requests(
            [e.url for e in entries if self._in_scope(e.url, source)], source.name, depth)

    def _new_page_requests(self, urls: list[str], source: str, depth: int) -> Iterator[Request]:
        """Requests for the pages of a source at a depth that this spider has not requested yet.

        A news page links to a hundred pages the crawl already knows; the dupefilter would drop
        them, but only after each Request is built and passes the spider middlewares. The
        hashes of the URLs requested are kept (one int per URL; a resumed or distributed crawl
        starts without them and leaves the rest to the dupefilter, as before).
        """
        known = 0
        for url in urls:
            key = hash(url)
            if key in self.requested:
                known += 1
                continue
            if self.discovered[source] >= self.max_urls_per_source:
                self._cap_reached(source)
                break
            self.discovered[source] += 1
            self.requested.add(key)
            yield Request(url, callback=self.parse_page, errback=self.on_error,
                          meta={"source": source, "news_depth": depth,
                                ARTICLE_CANDIDATE: not url_looks_like_listing(url)})
        if known:
            self.crawler.stats.inc_value("news/spider/links_already_requested", known)

    def _cap_reached(self, source: str) -> None:
        """Log once per source that NEWS_MAX_URLS_PER_SOURCE stopped its discovery."""
        self._count(f"url_cap_reached/{source}")
        if self.crawler.stats.get_value(f"news/spider/url_cap_reached/{source}") == 1:
            logger.warning("Source %s: %d URLs discovered in this run "
                           "(NEWS_MAX_URLS_PER_SOURCE): no more are followed", source,
                           self.max_urls_per_source)

    def parse_page(self, response: Response) -> Iterator[Request | PageItem]:
        """Yield an article page as an item; follow feeds, links and a credited original.

        A link that leads to a sitemap or feed (whatever its URL or Content-Type) is read as one.
        """
        kind = sniff(response.body)
        if response.body.startswith(GZIP_MAGIC) or kind in DISCOVERY_KINDS:
            yield from self.parse_document(response)
            return
        if not isinstance(response, HtmlResponse):
            if kind is not DocumentKind.HTML:
                logger.info("Skipping non-HTML response %s (%s)", response.url,
                            (response.headers.get(b"Content-Type") or b"").decode("latin-1"))
                self._count("non_html")
                return
            response = response.replace(cls=HtmlResponse)
        if looks_binary(response.body):
            logger.info("Skipping binary content served as HTML %s", response.url)
            self._count("binary_pages")
            return
        response = self._as_text(response)
        html = utf8_page(response.body, response.encoding, response.text)
        root = parse_html(html)
        source = self._source(response)
        anchors: list[Anchor] | None = None
        if is_article_page(root, response.url):
            anchors = page_anchors(root, response.url)
            original = self._public_credit(credited_url(root, anchors, response.url,
                                                        self.markers), response.url)
            item = self._item(response, html, original)
            follow = self.follow_credits and source.options.follow_credits
            if original and follow and host_of(original) not in source.allowed_hosts:
                yield from self._credit(response, item, original, root)
            else:
                item.credit_verified = False if original else None
                yield item
        else:
            self._count("listing_pages")
            self._count(f"listing_pages/{response.meta['source']}")
        depth = response.meta.get("news_depth", 0) + 1
        for url in feed_links(root, response.url):
            if self._in_scope(url, source):
                yield self._document_request(url, source.name)
        if depth > self._depth_limit(source):
            return
        if anchors is None:
            anchors = page_anchors(root, response.url)
        yield from self._new_page_requests(
            page_links([a for a in anchors if a.host in source.allowed_hosts]), source.name, depth)

    def _public_credit(self, original: str | None, page: str) -> str | None:
        """The credited URL, unless the guard is on and its host is private by its spelling
        alone (an address literal, localhost) at an origin no source configures: such a
        credit is never fetched, so it is not recorded either."""
        if (original is None or self.settings.getbool("ALLOW_PRIVATE_NETWORKS")
                or not private_without_dns(host_of(original))
                or origin_of(original) in configured_origins(self.sources)):
            return original
        self._count("private_credits_dropped")
        logger.warning("Dropped the credit %s of %s: a private network address", original, page)
        return None
