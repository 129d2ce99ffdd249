"""A source's `download_delay` holds under AutoThrottle.

The spider puts each source's delay and concurrency in DOWNLOAD_SLOTS for its hosts; AutoThrottle
would then lower that delay towards DOWNLOAD_DELAY. This downloader middleware marks the
requests to such a source's hosts with Scrapy's `autothrottle_dont_adjust_delay`, so that
source's delay stays what its options say (AutoThrottle neither lowers nor raises it: a true
floor would need AutoThrottle's private delay policy).
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.http import Request

from common.urls import host_of


class SourceDelayMiddleware:
    """Keep AutoThrottle off the slots of sources that set their own download_delay."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceDelayMiddleware:
        """The middleware of a crawl."""
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        """Mark any request to a host of a source with a download_delay (robots.txt included:
        hosts share one download slot)."""
        host = host_of(request.url)
        for source in getattr(self.crawler.spider, "sources", ()):
            if source.options.download_delay is not None and host in source.allowed_hosts:
                request.meta["autothrottle_dont_adjust_delay"] = True
                return
