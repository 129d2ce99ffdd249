"""Fetching paced by extraction, and a progress line that says what limits the crawl.

`ExtractionBackpressure` (a downloader middleware) holds a request before it reaches its
host's queue while the responses waiting in the scraper for their callbacks and items (the
worker pool's extraction) reach NEWS_EXTRACTION_BACKLOG_BYTES, as Scrapy counts them (at
least 1 KB each): one response processed lets one request go. Held requests wait in one
first-in, first-out queue that a single timer looks at every POLL_S seconds (not one timer per
held request: sixteen of them woke the event loop 800 times a second). Scrapy alone stops fetching
only once they pass SCRAPER_SLOT_MAX_ACTIVE_SIZE, then refills the whole downloader when
they fall below it: fetching came in waves (16 requests, then about 0.5 s of silence).
The bound sits below Scrapy's, which is then never reached.

`PacingLog` (an extension) logs one line every NEWS_PACING_INTERVAL seconds: pages/s, the
share of the interval requests were held by that backlog, how late the event loop ran (a
timer every 50 ms: late when the process waits for a CPU, its own work or the machine's),
the crawl process's CPU, and "cpu-bound" when CPU, not politeness, set the pace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import CallLaterResult, call_later, create_looping_call

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)
# How often the held requests' queue looks at the backlog again.
POLL_S = 0.02
# Scrapy counts every response in the scraper as at least this many bytes.
MIN_RESPONSE_BYTES = 1024
# Held for at least this share of an interval: extraction set the pace.
CPU_BOUND_SHARE = 0.5
# The event loop's timer, and how late it may run on average before the CPU sets the pace.
TICK_S = 0.05
CPU_BOUND_LAG_S = 0.01


def scraper_backlog(crawler: Crawler) -> int:
    """Bytes of the responses in the scraper: queued for, or in, callbacks and pipelines."""
    engine = crawler.engine
    slot = engine.scraper.slot if engine is not None else None
    return slot.active_size if slot is not None else 0


class ExtractionBackpressure:
    """Hold requests while the scraper's backlog, with the responses still on their way, is
    at its bound: one response processed makes room for one request."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.bound = crawler.settings.getint("NEWS_EXTRACTION_BACKLOG_BYTES")
        if self.bound <= 0:
            raise NotConfigured
        # Requests let through whose responses have not arrived, and the mean response size
        # (as Scrapy counts it) that each is expected to add to the backlog.
        self.on_the_way: set[Request] = set()
        self.mean_size = float(MIN_RESPONSE_BYTES)
        self.responses = 0
        self.holding = 0
        self.since = 0.0
        self.held_before = 0.0
        # Held requests in arrival order, each with the future its process_request awaits.
        self.held: deque[tuple[Request, asyncio.Future[None]]] = deque()
        self.releaser: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractionBackpressure:
        """Build the middleware from NEWS_EXTRACTION_BACKLOG_BYTES."""
        return cls(crawler)

    def full(self) -> bool:
        """Whether the backlog, with what is on its way, has reached the bound."""
        engine = self.crawler.engine
        if engine is not None:
            # A request that left the downloader without reaching process_response or
            # process_exception (another middleware answered it) is on its way no more.
            self.on_the_way.intersection_update(engine.downloader.active)
        expected = scraper_backlog(self.crawler) + len(self.on_the_way) * self.mean_size
        return expected >= self.bound

    async def process_request(self, request: Request) -> None:
        """Wait for room in the backlog (behind the requests held before), then count the
        request as on its way."""
        if not self.held and not self.full():
            self.on_the_way.add(request)
            return
        if not self.holding:
            self.since = time.monotonic()
        self.holding += 1
        try:
            room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.held.append((request, room))
            if self.releaser is None or self.releaser.done():
                self.releaser = asyncio.ensure_future(self.release_held())
            await room
        finally:
            self.holding -= 1
            if not self.holding:
                self.held_before += time.monotonic() - self.since

    async def release_held(self) -> None:
        """Every POLL_S seconds while requests are held, let the first ones go while there is
        room, each counted on its way as it goes (a cancelled one is passed over)."""
        while self.held:
            await asyncio.sleep(POLL_S)
            while self.held and not self.full():
                request, room = self.held.popleft()
                if not room.done():
                    self.on_the_way.add(request)
                    room.set_result(None)

    def process_response(self, request: Request, response: Response) -> Response:
        """The response has arrived: it is in the backlog now; learn its size."""
        if request in self.on_the_way:
            self.on_the_way.discard(request)
            self.responses += 1
            size = max(len(response.body), MIN_RESPONSE_BYTES)
            self.mean_size += (size - self.mean_size) / min(self.responses, 100)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """No response: nothing of it will reach the backlog."""
        self.on_the_way.discard(request)

    def held_s(self) -> float:
        """Seconds so far during which at least one request was held."""
        current = time.monotonic() - self.since if self.holding else 0.0
        return self.held_before + current


class PacingLog:
    """Every NEWS_PACING_INTERVAL seconds: pages/s, backlog holds, CPU, and `cpu-bound`."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.pages = 0
        self.last = (time.monotonic(), time.process_time(), 0, 0.0)
        self.loop: Any = None
        self.ticker: CallLaterResult | None = None
        self.ticks, self.lag_s, self.due = 0, 0.0, 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PacingLog:
        """Build the extension; it logs while the spider runs."""
        interval = crawler.settings.getfloat("NEWS_PACING_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        extension = cls(crawler, interval)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        """Count a page fetched."""
        self.pages += 1

    def spider_opened(self, spider: Spider) -> None:
        """Start the clock."""
        self.last = (time.monotonic(), time.process_time(), 0, self.held_s())
        # Made here: a looping call needs the reactor, which runs by now.
        self.loop = create_looping_call(self.log)
        self.loop.start(self.interval, now=False)
        self.schedule_tick()

    def spider_closed(self, spider: Spider) -> None:
        """Stop logging."""
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.ticker is not None:
            self.ticker.cancel()
            self.ticker = None

    def schedule_tick(self) -> None:
        """Ask the event loop to call tick in TICK_S seconds."""
        self.due = time.monotonic() + TICK_S
        self.ticker = call_later(TICK_S, self.tick)

    def tick(self) -> None:
        """Add how late this tick ran, and schedule the next."""
        self.lag_s += max(time.monotonic() - self.due, 0.0)
        self.ticks += 1
        self.schedule_tick()

    def held_s(self) -> float:
        """Seconds so far during which the extraction backlog held requests."""
        engine = self.crawler.engine
        middlewares = engine.downloader.middleware.middlewares if engine is not None else ()
        return sum(m.held_s() for m in middlewares if isinstance(m, ExtractionBackpressure))

    def log(self) -> None:
        """Log the interval's line."""
        wall, cpu, pages, held = time.monotonic(), time.process_time(), self.pages, self.held_s()
        last_wall, last_cpu, last_pages, last_held = self.last
        self.last = (wall, cpu, pages, held)
        span = max(wall - last_wall, 1e-9)
        held_share = min((held - last_held) / span, 1.0)
        lag = self.lag_s / max(self.ticks, 1)
        self.ticks, self.lag_s = 0, 0.0
        cpu_bound = held_share >= CPU_BOUND_SHARE or lag >= CPU_BOUND_LAG_S
        logger.info(
            "pacing: %s: %.1f pages/s; requests held for extraction %.0f%% of the time "
            "(%.1f MB of responses waiting); event loop %.1f ms late on average; "
            "crawl process CPU %.0f%% of a core",
            "cpu-bound" if cpu_bound else "fetch-bound", (pages - last_pages) / span,
            100 * held_share, scraper_backlog(self.crawler) / 1e6, 1000 * lag,
            100 * (cpu - last_cpu) / span)
