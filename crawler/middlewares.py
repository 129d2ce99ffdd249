"""Downloader middlewares: the guard against requests to private networks."""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import lru_cache

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

from common.urls import host_of

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def resolves_to_private(host: str) -> bool:
    """True when a host is, or resolves to, an address that is not globally reachable.

    Private, loopback, link-local, carrier-grade NAT (100.64/10, where some clouds keep their
    metadata service), reserved, multicast and unspecified addresses, in any spelling
    (2130706433, 0x7f.1, ::ffff:127.0.0.1), and the names localhost and *.localhost.
    """
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        addresses = {ipaddress.ip_address(name)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return False
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return any(not a.is_global or a.is_multicast for a in addresses)


class PrivateNetworkGuardMiddleware:
    """Refuse requests to unconfigured hosts that resolve to private networks (SSRF guard).

    Hosts of the configured sources are trusted; everything found on pages is checked.
    Off when ALLOW_PRIVATE_NETWORKS is True.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateNetworkGuardMiddleware:
        """Build the guard unless ALLOW_PRIVATE_NETWORKS turns it off."""
        if crawler.settings.getbool("ALLOW_PRIVATE_NETWORKS"):
            raise NotConfigured("ALLOW_PRIVATE_NETWORKS is True")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        """Raise IgnoreRequest for a request to a private address of an unconfigured host."""
        host = host_of(request.url)
        trusted: frozenset[str] = getattr(self.crawler.spider, "configured_hosts", frozenset())
        if host in trusted or not resolves_to_private(host):
            return
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("news/guard/private_network_blocked")
        logger.warning("Blocked %s: host %s resolves to a private network "
                       "(set ALLOW_PRIVATE_NETWORKS=True to allow)", request.url, host)
        raise IgnoreRequest(f"private network address for {host}")
