"""The politeness contract, enforced where a request leaves for its host (docs/politeness.md).

Scrapy spaces a host's requests when they leave its download slot's queue, then starts
each download as a task; a busy process can start one late and the next on time, so the
host sees a gap shorter than the delay. With no delay, Scrapy 2.19 starts a slot's whole
queue at once, past its concurrency. `PoliteDownloadHandler` wraps the HTTP download
handler and lets a request through to the network only when its host has fewer than its
cap open and the previous request to it was written at least its delay (plus
NEWS_POLITENESS_MARGIN) before. `SlotPacing` hands AutoThrottle's delay for a slot to its
gate (never below the slot's own configured delay: AutoThrottle's floor is DOWNLOAD_DELAY
for every slot, so a source's longer `download_delay` would be undercut), and sets Scrapy's
slot a little ahead of the gate, so that the next request already waits there when due.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy import signals
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
    # The delay enforced: the floor, or AutoThrottle's longer one (see SlotPacing).
    delay: float = 0.0
    # Whether SlotPacing has seen the host's Scrapy slot since the gate was made.
    slot_seen: bool = False
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
        open). Opening one takes turns of the event loop that cannot be counted, so with a
        delay such a request runs alone and the next one is timed from its end.
        """
        async with self.turn:
            while self.unsure or self.open >= max(self.limits.cap, 1):
                self.freed.clear()
                await self.freed.wait()
            await self.wait_delay()
            if self.budget is not None:
                await self.budget.acquire()
                try:
                    await self.wait_delay()
                except BaseException:  # cancelled: give the place back
                    self.budget.release()
                    raise
            self.last_start = monotonic()
            self.open += 1
            fresh = self.open > self.connections
            if fresh:
                self.connections = self.open
                self.unsure = self.delay > 0
            return fresh

    async def wait_delay(self) -> None:
        """Sleep until the delay since the last start has passed.

        The request before may move last_start on (see sent) while this one sleeps.
        """
        while self.delay > 0:
            wait = self.last_start + self.delay + self.margin - monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def slow_to(self, delay: float) -> None:
        """Enforce DELAY from now on, or the floor if DELAY is shorter."""
        self.delay = max(self.limits.delay, delay)

    def sent(self) -> None:
        """The request that last entered has reached the network: time the next from now."""
        self.last_start = max(self.last_start, monotonic())

    def leave(self, fresh: bool) -> None:
        """A request of this host is done: free its place and its place in the budget."""
        self.open -= 1
        if fresh and self.unsure:
            self.unsure = False
            self.sent()
        if self.budget is not None:
            self.budget.release()
        self.freed.set()


@dataclass
class CrawlGates:
    """The gates of one crawl and its budget of open requests, shared by its components."""

    default: HostLimits
    per_slot: dict[str, HostLimits]
    margin: float
    budget: asyncio.Semaphore | None
    gates: dict[str, HostGate] = field(default_factory=dict)

    def gate(self, key: str) -> HostGate:
        """The gate of a download slot, made on first use."""
        gate = self.gates.get(key)
        if gate is None:
            limits = self.per_slot.get(key, self.default)
            gate = HostGate(limits, self.margin, self.budget, delay=limits.delay)
            self.gates[key] = gate
        return gate


# Per crawl: its http and https handlers and SlotPacing share the gates.
CRAWL_GATES: WeakKeyDictionary[Crawler, CrawlGates] = WeakKeyDictionary()


def crawl_gates(crawler: Crawler) -> CrawlGates:
    """The crawl's gates, made from its settings on first use."""
    if crawler not in CRAWL_GATES:
        settings = crawler.settings
        default, per_slot = slot_limits(settings)
        most = settings.getint("NEWS_MAX_OPEN_REQUESTS")
        CRAWL_GATES[crawler] = CrawlGates(
            default, per_slot, settings.getfloat("NEWS_POLITENESS_MARGIN"),
            asyncio.Semaphore(most) if most > 0 else None)
    return CRAWL_GATES[crawler]


# Event-loop turns after which a request on an open connection has been written: the
# handler buffers it at once (Twisted writes nothing in place), the reactor writes it in the
# next turn, when the socket shows writable; a callback made now runs first in that turn, so
# the one after is the earliest to know. A busy process stretches these turns, and the next
# request is timed from their end.
SEND_TURNS = 2
# Scrapy's slot lets requests go at this share of the host's delay: they wait at the gate,
# which holds the delay, instead of reaching it late when the process is busy.
SLOT_LEAD = 0.8


async def mark_sent(gate: HostGate) -> None:
    """Tell the gate its last request has been written, SEND_TURNS turns from now."""
    for _ in range(SEND_TURNS - 1):
        await asyncio.sleep(0)
    gate.sent()



class PoliteDownloadHandler:
    """An HTTP(S) download handler that gates the handler NEWS_POLITE_DOWNLOAD_HANDLER names."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.inner: Any = build_from_crawler(
            load_object(settings.get("NEWS_POLITE_DOWNLOAD_HANDLER")), crawler)
        self.crawl = crawl_gates(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteDownloadHandler:
        """Build the handler and the handler it wraps."""
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        """Download once the request's host may receive it."""
        gate = self.crawl.gate(slot_key(request))
        fresh = await gate.enter()
        timed = not fresh and gate.delay > 0
        marker = asyncio.ensure_future(mark_sent(gate)) if timed else None
        try:
            response: Response = await self.inner.download_request(request)
            return response
        finally:
            if marker is not None and not marker.done():
                marker.cancel()
                gate.sent()
            gate.leave(fresh)

    async def close(self) -> None:
        """Close the wrapped handler."""
        await self.inner.close()


class SlotPacing:
    """Keep each Scrapy slot's delay SLOT_LEAD of its gate's, and AutoThrottle's in the gate."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.gates = crawl_gates(crawler)
        self.autothrottle = crawler.settings.getbool("AUTOTHROTTLE_ENABLED")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SlotPacing:
        """Connect after AutoThrottle (extensions connect in order; this one is listed later)."""
        extension = cls(crawler)
        crawler.signals.connect(extension.request_reached_downloader,
                                signal=signals.request_reached_downloader)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        return extension

    def slot(self, request: Request) -> tuple[HostGate, Any]:
        """The request's gate and Scrapy slot (None once Scrapy has dropped an idle slot)."""
        key = slot_key(request)
        engine = self.crawler.engine
        return self.gates.gate(key), engine.downloader.slots.get(key) if engine else None

    def request_reached_downloader(self, request: Request, spider: Spider) -> None:
        """A new slot starts at AutoThrottle's start delay (or the configured one): hand it
        to the gate, and lead."""
        gate, slot = self.slot(request)
        if slot is None:
            return
        if not gate.slot_seen:
            gate.slot_seen = True
            gate.slow_to(slot.delay)
        slot.delay = SLOT_LEAD * gate.delay

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        """AutoThrottle has just set the slot's delay: the gate enforces it, the slot leads."""
        gate, slot = self.slot(request)
        if slot is None:
            return
        if self.autothrottle and slot.delay != SLOT_LEAD * gate.delay:
            gate.slow_to(slot.delay)
        slot.delay = SLOT_LEAD * gate.delay
