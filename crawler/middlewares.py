"""Downloader middlewares: the guard against requests to private networks."""

from __future__ import annotations

import logging

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.resolver import (
    configured_origins,
    host_address,
    installed_resolver,
    is_private_address,
    literal_address,
    lookup,
    private_without_dns,
    request_origins,
)

logger = logging.getLogger(__name__)


class PrivateNetworkBlocked(IgnoreRequest):
    """The private-network guard refused the request (its host is private)."""


class PrivateNetworkGuardMiddleware:
    """Refuse requests to private networks from origins no source configures (SSRF guard).

    A configured source's (host, port) is trusted; any other host is checked: by its
    spelling (an IP literal, localhost), else by its addresses, looked up without blocking
    the reactor through the installed resolver (GuardedResolver caches them, and also
    filters what the connection gets). Off when ALLOW_PRIVATE_NETWORKS is True.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.trusted: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateNetworkGuardMiddleware:
        """Build the guard unless ALLOW_PRIVATE_NETWORKS turns it off."""
        if crawler.settings.getbool("ALLOW_PRIVATE_NETWORKS"):
            raise NotConfigured("ALLOW_PRIVATE_NETWORKS is True")
        guard = cls(crawler)
        crawler.signals.connect(guard.spider_opened, signal=signals.spider_opened)
        return guard

    def spider_opened(self, spider: Spider) -> None:
        """Trust the configured sources' origins."""
        self.trusted = configured_origins(getattr(spider, "sources", []))

    async def process_request(self, request: Request) -> None:
        """Raise IgnoreRequest for a request to a private address of an untrusted origin."""
        origins = request_origins(request.url)
        if origins is None:
            self._block(request, "?", "a malformed authority")
        assert origins is not None
        for host, port in sorted(origins - self.trusted):
            await self._check(request, host, port)

    async def _check(self, request: Request, host: str, port: int) -> None:
        """Block the request when HOST is private by its spelling or by its addresses."""
        if private_without_dns(host):
            self._block(request, host, "a private network")
        resolver = installed_resolver()
        if literal_address(host) is not None or resolver is None:
            return
        addresses = await maybe_deferred_to_future(lookup(resolver, host, port))
        if any(ip is None or is_private_address(ip) for ip in map(host_address, addresses)):
            self._block(request, host, "a private network")

    def _block(self, request: Request, host: str, why: str) -> None:
        """Count, log and drop the request."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("news/guard/private_network_blocked")
        logger.warning("Blocked %s: host %s resolves to %s "
                       "(set ALLOW_PRIVATE_NETWORKS=True to allow)", request.url, host, why)
        raise PrivateNetworkBlocked(f"private network address for {host}")
