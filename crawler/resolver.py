"""Name resolution that checks addresses: the crawl connects only to addresses it checked.

GuardedResolver is Scrapy's caching hostname resolver (TWISTED_DNS_RESOLVER) with a filter:
unless ALLOW_PRIVATE_NETWORKS is True or the (host, port) is a configured source's, addresses
that are not globally reachable are never handed to the connection. The name is resolved in
Twisted's thread pool (getaddrinfo never runs on the reactor), once: the connection uses the
addresses the filter passed, so a DNS answer that changes between check and connect (DNS
rebinding) cannot slip a private address in.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.resolver import CachingHostnameResolver
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from twisted.web.client import URI
from zope.interface import implementer, provider

from crawler.sources import Source

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Characters of an IPv4 address in the classic inet_aton spellings (127.1, 0x7f.1, 2130706433).
IPV4_SPELLING = frozenset("0123456789abcdefxABCDEFX.")


def _not_global(address: Address) -> bool:
    """True for an address that is not globally reachable unicast, by its own range."""
    return bool(not address.is_global or address.is_multicast or address.is_private
                or address.is_reserved or address.is_loopback or address.is_link_local
                or address.is_unspecified
                or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 transition form carries: mapped, compatible, 6to4,
    Teredo (server and client), NAT64 (well-known and local-use prefixes)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in NAT64 or address in NAT64_LOCAL or (
            address in IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_private_address(address: Address) -> bool:
    """True when an address, or an IPv4 address it embeds, is not globally reachable.

    Private, loopback, link-local, carrier-grade NAT (100.64/10), reserved, multicast,
    unspecified and site-local addresses. An IPv6 transition form (IPv4-mapped and
    -compatible, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16, Teredo) is judged
    by the IPv4 addresses it carries, where the packets end up.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded:
            return any(_not_global(inner) for inner in embedded)
    return _not_global(address)


def literal_address(host: str) -> Address | None:
    """The address a host names without DNS: an IP literal in any spelling, else None.

    IPv6 in brackets or not (a zone is ignored), IPv4 dotted, and the classic inet_aton
    spellings resolvers accept (127.1, 0x7f.0.0.1, 017700000001, 2130706433).
    """
    name = host.strip().strip("[]").rstrip(".").split("%", 1)[0]
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if not name or not set(name) <= IPV4_SPELLING or not name[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def is_local_name(host: str) -> bool:
    """True for localhost and *.localhost (RFC 6761: always loopback)."""
    name = host.strip("[]").rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def private_without_dns(host: str) -> bool:
    """True when a host is private by its spelling alone: a private literal or a local name."""
    address = literal_address(host)
    return is_local_name(host) if address is None else is_private_address(address)


def host_address(address: IAddress) -> Address | None:
    """The IP address of a resolved Twisted address (None when it has none)."""
    host = getattr(address, "host", None)
    return literal_address(host) if isinstance(host, str) else None


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, int] | None:
    """(lower-cased host, port) a URL connects to; None when its port is malformed."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        return None
    return (parts.hostname or "").lower(), port


def request_origins(url: str) -> set[tuple[str, int]] | None:
    """Every (host, port) a request URL may reach: as URL parsers read it and as Twisted's
    agent, which connects, reads it (it keeps any user:password@ in the host); None when the
    URL is malformed."""
    origin = origin_of(url)
    try:
        agent = URI.fromBytes(url.encode("utf-8"))
        agent_host = agent.host.decode("utf-8").lower()
    except (ValueError, UnicodeDecodeError):
        return None
    if origin is None:
        return None
    return {origin, (agent_host, agent.port)}


def configured_origins(sources: list[Source]) -> frozenset[tuple[str, int]]:
    """The (host, port) pairs the configured sources name: their URLs', and their allowed
    hosts on the default ports. Only these may be on private networks."""
    origins = {origin_of(url) for s in sources for url in (*s.start_urls, *s.feeds, *s.sitemaps)}
    origins |= {(host, port) for s in sources for host in s.allowed_hosts
                for port in DEFAULT_PORTS.values()}
    return frozenset(origin for origin in origins if origin is not None)


@provider(IResolutionReceiver)
class _PublicOnly:
    """Passes on the resolved addresses that are globally reachable, drops (and logs) others."""

    def __init__(self, receiver: Any, host: str, port: int) -> None:
        self.receiver = receiver
        self.host = host
        self.port = port

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802
        """Twisted's callback: resolution started."""
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:  # noqa: N802
        """Twisted's callback: one address; passed on only when public."""
        ip = host_address(address)
        if ip is None or is_private_address(ip):
            logger.warning("Not connecting to %s:%d at %s: not a public address", self.host,
                           self.port, getattr(address, "host", address))
            return
        self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        """Twisted's callback: resolution ended."""
        self.receiver.resolutionComplete()


@provider(IResolutionReceiver)
class _Collector:
    """Collects every resolved address into a Deferred list."""

    def __init__(self) -> None:
        self.addresses: list[IAddress] = []
        self.done: Deferred[list[IAddress]] = Deferred()

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802
        """Twisted's callback: resolution started."""

    def addressResolved(self, address: IAddress) -> None:  # noqa: N802
        """Twisted's callback: one address."""
        self.addresses.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        """Twisted's callback: resolution ended; fires the Deferred."""
        self.done.callback(self.addresses)




@implementer(IHostnameResolver)
class GuardedResolver(CachingHostnameResolver):
    """Scrapy's caching resolver that never hands a private address to an untrusted origin."""

    def __init__(self, reactor: Any, cache_size: int, allow_private: bool) -> None:
        super().__init__(reactor, cache_size)
        self.allow_private = allow_private
        self.trusted: set[tuple[str, int]] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        """Build from DNSCACHE_* and ALLOW_PRIVATE_NETWORKS (Scrapy passes the process)."""
        settings = crawler.settings
        size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, size, settings.getbool("ALLOW_PRIVATE_NETWORKS"))

    def trust(self, origins: Iterable[tuple[str, int]]) -> None:
        """Let these (host, port) origins (the configured sources') reach private addresses."""
        self.trusted.update((host.lower(), port) for host, port in origins)

    def unchecked(self, receiver: Any, host: str, port: int) -> IHostResolution:
        """Resolve without the filter (for the guard that checks the answer itself)."""
        return super().resolveHostName(receiver, host, port)

    def resolveHostName(  # noqa: N802
        self,
        resolutionReceiver: Any,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type[IAddress]] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> IHostResolution:
        """Resolve through the cache; private addresses reach only trusted origins."""
        if not self.allow_private and (hostName.lower(), portNumber) not in self.trusted:
            resolutionReceiver = _PublicOnly(resolutionReceiver, hostName, portNumber)
        return super().resolveHostName(resolutionReceiver, hostName, portNumber,
                                       addressTypes, transportSemantics)


def lookup(resolver: Any, host: str, port: int) -> Deferred[list[IAddress]]:
    """Every address a resolver gives for a host (unfiltered), without blocking the reactor."""
    collector = _Collector()
    if isinstance(resolver, GuardedResolver):
        resolver.unchecked(collector, host, port)
    else:
        resolver.resolveHostName(collector, host, port)
    return collector.done


def installed_resolver() -> Any:
    """The reactor's installed hostname resolver (None without a reactor that has one)."""
    from twisted.internet import reactor

    return getattr(reactor, "nameResolver", None)


class TrustConfiguredOrigins:
    """Extension: at spider open, lets the configured sources' origins through the installed
    GuardedResolver (the sample sites and intranet sources the operator chose to crawl)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> TrustConfiguredOrigins:
        """Connect to spider_opened."""
        extension = cls()
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        """Register the spider's configured origins with the resolver."""
        resolver = installed_resolver()
        if isinstance(resolver, GuardedResolver):
            resolver.trust(configured_origins(getattr(spider, "sources", [])))
