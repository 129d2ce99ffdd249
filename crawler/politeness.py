"""The politeness contract, enforced where a request leaves for its host (docs/politeness.md).

Scrapy spaces a host's requests when they leave its download slot's queue, then starts
each download as a task; a busy process can start one late and the next on time, so the
host sees a gap shorter than the delay. With no delay, Scrapy 2.19 starts a slot's whole
queue at once, past its concurrency. `PoliteDownloadHandler` wraps the HTTP download
handler and lets a request through to the network only when its host has fewer than its
cap open and the previous request to it started at least its delay (plus
NEWS_POLITENESS_MARGIN) before. `AutoThrottleFloor` keeps AutoThrottle from lowering a
slot's delay below the slot's own configured delay (AutoThrottle's floor is DOWNLOAD_DELAY
for every slot, so a source's longer `download_delay` would be undercut).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings


@dataclass(frozen=True)
class HostLimits:
    """The configured floor of a download slot: seconds between starts, open requests."""

    delay: float
    cap: int


def slot_limits(settings: BaseSettings) -> tuple[HostLimits, dict[str, HostLimits]]:
    """The default limits and each DOWNLOAD_SLOTS entry's, as Scrapy's downloader reads them."""
    default = HostLimits(
        delay=settings.getfloat("DOWNLOAD_DELAY"),
        cap=settings.getint("CONCURRENT_REQUESTS_PER_IP")
        or settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
    per_slot = {
        key: HostLimits(delay=float(entry.get("delay", default.delay)),
                        cap=int(entry.get("concurrency", default.cap)))
        for key, entry in settings.getdict("DOWNLOAD_SLOTS").items()
    }
    return default, per_slot


def slot_key(request: Request) -> str:
    """The download slot Scrapy's downloader assigned (its `download_slot` meta), else the host."""
    key = request.meta.get("download_slot")
    return str(key) if key is not None else urlparse_cached(request).hostname or ""


@dataclass
class HostGate:
    """Admits one host's requests in order: under its cap, spaced by its delay at the start."""

    limits: HostLimits
    margin: float
    open: int = 0
    last_start: float = float("-inf")
    warm: bool = False
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    freed: asyncio.Event = field(default_factory=asyncio.Event)

    async def enter(self) -> None:
        """Wait for a free place under the cap, then for the delay since the last start.

        A host's first request opens a connection, which takes turns of the event loop that
        cannot be counted, so it runs alone and the next is timed from its end.
        """
        async with self.turn:
            while self.open >= (max(self.limits.cap, 1) if self.warm else 1):
                self.freed.clear()
                await self.freed.wait()
            # The request before may move last_start on (see sent) while this one waits.
            while self.limits.delay > 0:
                wait = self.last_start + self.limits.delay + self.margin - monotonic()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self.last_start = monotonic()
            self.open += 1

    def sent(self) -> None:
        """The request that last entered has reached the network: time the next from now."""
        self.last_start = max(self.last_start, monotonic())

    def leave(self) -> None:
        """A request of this host is done: free its place."""
        self.open -= 1
        if not self.warm:
            self.warm = True
            self.sent()
        self.freed.set()


# Event-loop turns after which a request on an open connection has been written: the task
# starts, the handler buffers the request, the reactor writes it when the socket is writable.
# A busy process stretches these turns, and the next request is timed from their end.
SEND_TURNS = 3
# The gates of each crawl, shared by its http and https handlers (one slot may see both).
CRAWL_GATES: WeakKeyDictionary[Crawler, dict[str, HostGate]] = WeakKeyDictionary()


class PoliteDownloadHandler:
    """An HTTP(S) download handler that gates the handler NEWS_POLITE_DOWNLOAD_HANDLER names."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.inner: Any = build_from_crawler(
            load_object(settings.get("NEWS_POLITE_DOWNLOAD_HANDLER")), crawler)
        self.default, self.per_slot = slot_limits(settings)
        self.margin = settings.getfloat("NEWS_POLITENESS_MARGIN")
        self.gates = CRAWL_GATES.setdefault(crawler, {})

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteDownloadHandler:
        """Build the handler and the handler it wraps."""
        return cls(crawler)

    def gate(self, key: str) -> HostGate:
        """The gate of a download slot, made on its first request."""
        gate = self.gates.get(key)
        if gate is None:
            gate = HostGate(self.per_slot.get(key, self.default), self.margin)
            self.gates[key] = gate
        return gate

    async def download_request(self, request: Request) -> Response:
        """Download once the request's host may receive it."""
        gate = self.gate(slot_key(request))
        await gate.enter()
        try:
            download = asyncio.ensure_future(self.inner.download_request(request))
            for _ in range(SEND_TURNS):
                await asyncio.sleep(0)
            gate.sent()
            response: Response = await download
            return response
        finally:
            gate.leave()

    async def close(self) -> None:
        """Close the wrapped handler."""
        await self.inner.close()


class AutoThrottleFloor:
    """After AutoThrottle adjusts a slot's delay, raise it back to the slot's configured delay."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("AUTOTHROTTLE_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.default, self.per_slot = slot_limits(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AutoThrottleFloor:
        """Connect after AutoThrottle (extensions connect in order; this one is listed later)."""
        extension = cls(crawler)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        return extension

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        """Keep the slot's delay at or above its floor."""
        key = slot_key(request)
        limits = self.per_slot.get(key)
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(key) if limits and engine else None
        if slot is not None and limits is not None and slot.delay < limits.delay:
            slot.delay = limits.delay
