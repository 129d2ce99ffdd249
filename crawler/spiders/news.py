"""The `news` spider: discovers and fetches article pages; pipelines do the rest."""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.utils.gz import gunzip, gzip_magic_number

from common.urls import fetchable_host, host_of, robots_txt_url
from crawler.distributed import use_redis_frontier
from crawler.encoding import looks_binary, page_text, utf8_page
from crawler.feeds import parse_feed, parse_sitemap, robots_sitemaps
from crawler.incremental import ARTICLE_CANDIDATE
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
from crawler.sources import (
    DEFAULT_SOURCES_FILE,
    Source,
    SourcesConfigError,
    load_sources,
    source_download_slot,
    source_from_urls,
)
from pipelines.items import PageItem
from pipelines.markers import Markers, load_markers

logger = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024


def _header(response: Response, name: bytes) -> str | None:
    """A response header as text, None when absent."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class NewsSpider(scrapy.Spider):
    """Crawl configured news sources: robots.txt sitemaps, feeds and in-site links."""

    name = "news"

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
        return super().from_crawler(crawler, *args, **kwargs)

    async def start(self) -> AsyncIterator[Request]:
        """robots.txt, configured sitemaps and feeds, then the start pages, per source."""
        for request in self._start_requests():
            yield request

    def _start_requests(self) -> Iterator[Request]:
        """The first requests of every selected source."""
        for source in self.sources:
            meta = {"source": source.name, "news_depth": 0}
            for url in sorted({robots_txt_url(u) for u in source.start_urls}):
                yield Request(url, callback=self.parse_robots, meta=dict(meta),
                              errback=self.on_error, priority=20)
            for url in source.sitemaps:
                yield Request(url, callback=self.parse_sitemap, meta=dict(meta),
                              errback=self.on_error, priority=15)
            for url in source.feeds:
                yield Request(url, callback=self.parse_feed, meta=dict(meta),
                              errback=self.on_error, priority=15)
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

    def _discovery_meta(self, response: Response) -> dict[str, Any]:
        """Meta for a sitemap found in a response: its source, at depth 0 (none of the meta
        Scrapy's components keep per response, such as download_slot or redirect_urls)."""
        return {"source": response.meta["source"], "news_depth": 0}

    def _count(self, key: str) -> None:
        """Increment a namespaced stats counter."""
        self.crawler.stats.inc_value(f"news/spider/{key}")

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """Follow the sitemaps a robots.txt names."""
        text = response.text if isinstance(response, TextResponse) else ""
        for url in robots_sitemaps(text, response.url):
            if self._sitemap_in_scope(url, self._source(response)):
                yield response.follow(url, callback=self.parse_sitemap, errback=self.on_error,
                                      meta=self._discovery_meta(response), priority=15)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """Follow a sitemap index's sitemaps and a urlset's pages."""
        body = response.body
        if gzip_magic_number(response):
            try:
                body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
            except (OSError, ValueError, zlib.error) as exc:
                logger.warning("Unreadable gzip sitemap %s (corrupt, or over %d bytes "
                               "unpacked): %s", response.url, MAX_SITEMAP_BYTES, exc)
                self._count("bad_sitemaps")
                return
        links = parse_sitemap(body, response.url)
        if not links.sitemaps and not links.pages:
            logger.warning("Sitemap %s lists nothing (malformed or empty)", response.url)
            self._count("bad_sitemaps")
        source = self._source(response)
        for url in links.sitemaps:
            if self._sitemap_in_scope(url, source):
                yield Request(url, callback=self.parse_sitemap, errback=self.on_error,
                              meta=self._discovery_meta(response), priority=15)
        yield from self._page_requests(links.pages, response, depth=1)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """Follow the entries of an RSS or Atom feed."""
        links = parse_feed(response.body, response.url)
        if not links:
            logger.warning("Feed %s lists no entries (malformed or empty)", response.url)
            self._count("bad_feeds")
        yield from self._page_requests(links, response, depth=1)

    def _page_requests(self, urls: list[str], response: Response, depth: int) -> Iterator[Request]:
        """Requests for in-scope pages at a depth within the source's limit."""
        source = self._source(response)
        if depth > self._depth_limit(source):
            return
        yield from self._new_page_requests(
            [url for url in urls if self._in_scope(url, source)], source.name, depth)

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
            self.requested.add(key)
            yield Request(url, callback=self.parse_page, errback=self.on_error,
                          meta={"source": source, "news_depth": depth,
                                ARTICLE_CANDIDATE: not url_looks_like_listing(url)})
        if known:
            self.crawler.stats.inc_value("news/spider/links_already_requested", known)

    def parse_page(self, response: Response) -> Iterator[Request | PageItem]:
        """Yield an article page as an item; follow feeds, links and a credited original."""
        if not isinstance(response, HtmlResponse):
            logger.info("Skipping non-HTML response %s (%s)", response.url,
                        (response.headers.get(b"Content-Type") or b"").decode("latin-1"))
            self._count("non_html")
            return
        if looks_binary(response.body):
            logger.info("Skipping binary content served as HTML %s", response.url)
            self._count("binary_pages")
            return
        response = self._as_text(response)
        credit_hop = bool(response.meta.get("credit_hop"))
        html = utf8_page(response.body, response.encoding, response.text)
        root = parse_html(html)
        anchors: list[Anchor] | None = None
        if is_article_page(root, response.url):
            anchors = page_anchors(root, response.url)
            original = credited_url(root, anchors, response.url, self.markers)
            yield self._item(response, html, original)
            follow = self.follow_credits and self._source(response).options.follow_credits
            if original and follow and not credit_hop:
                yield from self._credit_request(response, original)
        else:
            self._count("listing_pages")
            self._count(f"listing_pages/{response.meta['source']}")
        if credit_hop:
            return
        depth = response.meta.get("news_depth", 0) + 1
        source = self._source(response)
        for url in feed_links(root, response.url):
            if self._in_scope(url, source):
                yield Request(url, callback=self.parse_feed, errback=self.on_error,
                              meta={"source": source.name, "news_depth": depth - 1}, priority=15)
        if depth > self._depth_limit(source):
            return
        if anchors is None:
            anchors = page_anchors(root, response.url)
        yield from self._new_page_requests(
            page_links([a for a in anchors if a.host in source.allowed_hosts]), source.name, depth)

    def _as_text(self, response: HtmlResponse) -> HtmlResponse:
        """The response decoded right (see crawler.encoding.page_text), as NFC text."""
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        text = page_text(response.body, content_type, response.text)
        if text == response.text:
            return response
        self._count("recoded_pages")
        return response.replace(body=text.encode("utf-8"), encoding="utf-8")

    def _item(self, response: HtmlResponse, html: bytes, original: str | None) -> PageItem:
        """The item for an article page."""
        self._count("article_pages")
        redirects = response.meta.get("redirect_urls") or [response.url]
        return PageItem(
            url=response.url,
            html=html,
            source=response.meta["source"],
            fetched_at=dt.datetime.now(dt.UTC),
            request_url=redirects[0],
            credited_url=original,
            credited_by=response.meta.get("credited_by"),
            http_etag=_header(response, b"ETag"),
            http_last_modified=_header(response, b"Last-Modified"),
        )

    def _credit_request(self, response: HtmlResponse, original: str) -> Iterator[Request]:
        """Follow the page's credited original one hop, whatever its host."""
        if host_of(original) in self._source(response).allowed_hosts:
            return
        self._count("credits_followed")
        yield Request(original, callback=self.parse_page, errback=self.on_error,
                      meta={"source": response.meta["source"], "credit_hop": True,
                            "credited_by": response.url, "news_depth": 0,
                            ARTICLE_CANDIDATE: True},
                      priority=5)

    def on_error(self, failure: Any) -> None:
        """Log a failed request once, with its kind, and count it.

        A request a middleware chose to drop (known article, private network) is no error;
        HttpError subclasses IgnoreRequest but is one (4xx/5xx).
        """
        if failure.type is IgnoreRequest:
            return
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        kind = failure.type.__name__ if failure.type else "Error"
        self.crawler.stats.inc_value(f"news/errors/{kind}")
        if request is not None and request.meta.get("source"):
            self.crawler.stats.inc_value(f"news/errors/{kind}/{request.meta['source']}")
        response = getattr(failure.value, "response", None)
        status = f" (HTTP {response.status})" if isinstance(response, Response) else ""
        logger.warning("Failed %s: %s%s: %s", url, kind, status, failure.getErrorMessage())
