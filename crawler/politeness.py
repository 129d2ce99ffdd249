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
    budget: asyncio.Semaphore | None
    open: int = 0
    last_start: float = float("-inf")
    # Connections the host surely has: the most requests it has had open at once.
    connections: int = 0
    # A request that opens a connection is on its way: when it reaches the host is unknown.
    unsure: bool = False
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    freed: asyncio.Event = field(default_factory=asyncio.Event)

    async def enter(self) -> bool:
        """Wait for a place under the host's cap, its delay since the last start, then a
        place in the crawl's budget of open requests (NEWS_MAX_OPEN_REQUESTS).

        Returns whether the request needs a new connection (the host has never had this many
        open). Opening one takes turns of the event loop that cannot be counted, so such a
        request runs alone and the next one is timed from its end.
        """
        async with self.turn:
            while self.unsure or self.open >= max(self.limits.cap, 1):
                self.freed.clear()
                await self.freed.wait()
            await self.wait_delay()
            if self.budget is not None:
                await self.budget.acquire()
                await self.wait_delay()
            self.last_start = monotonic()
            self.open += 1
            fresh = self.open > self.connections
            if fresh:
                self.connections = self.open
                self.unsure = True
            return fresh

    async def wait_delay(self) -> None:
        """Sleep until the delay since the last start has passed.

        The request before may move last_start on (see sent) while this one sleeps.
        """
        while self.limits.delay > 0:
            wait = self.last_start + self.limits.delay + self.margin - monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def sent(self) -> None:
        """The request that last entered has reached the network: time the next from now."""
        self.last_start = max(self.last_start, monotonic())

    def leave(self, fresh: bool) -> None:
        """A request of this host is done: free its place and its place in the budget."""
        self.open -= 1
        if fresh:
            self.unsure = False
            self.sent()
        if self.budget is not None:
            self.budget.release()
        self.freed.set()


@dataclass
class CrawlGates:
    """The gates of one crawl and its budget of open requests, shared by its handlers."""

    gates: dict[str, HostGate] = field(default_factory=dict)
    budget: asyncio.Semaphore | None = None


# Event-loop turns after which a request on an open connection has been written: the task
# starts, the handler buffers the request, the reactor writes it when the socket is writable.
# A busy process stretches these turns, and the next request is timed from their end.
SEND_TURNS = 3
# Per crawl: its http and https handlers share the gates (one slot may see both schemes).
CRAWL_GATES: WeakKeyDictionary[Crawler, CrawlGates] = WeakKeyDictionary()


class PoliteDownloadHandler:
    """An HTTP(S) download handler that gates the handler NEWS_POLITE_DOWNLOAD_HANDLER names."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.inner: Any = build_from_crawler(
            load_object(settings.get("NEWS_POLITE_DOWNLOAD_HANDLER")), crawler)
        self.default, self.per_slot = slot_limits(settings)
        self.margin = settings.getfloat("NEWS_POLITENESS_MARGIN")
        if crawler not in CRAWL_GATES:
            most = settings.getint("NEWS_MAX_OPEN_REQUESTS")
            CRAWL_GATES[crawler] = CrawlGates(budget=asyncio.Semaphore(most) if most else None)
        self.crawl = CRAWL_GATES[crawler]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteDownloadHandler:
        """Build the handler and the handler it wraps."""
        return cls(crawler)

    def gate(self, key: str) -> HostGate:
        """The gate of a download slot, made on its first request."""
        gate = self.crawl.gates.get(key)
        if gate is None:
            gate = HostGate(self.per_slot.get(key, self.default), self.margin, self.crawl.budget)
            self.crawl.gates[key] = gate
        return gate

    async def download_request(self, request: Request) -> Response:
        """Download once the request's host may receive it."""
        gate = self.gate(slot_key(request))
        fresh = await gate.enter()
        try:
            download = asyncio.ensure_future(self.inner.download_request(request))
            if not fresh:
                for _ in range(SEND_TURNS):
                    await asyncio.sleep(0)
                gate.sent()
            response: Response = await download
            return response
        finally:
            gate.leave(fresh)

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
