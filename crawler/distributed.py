"""Distributed crawling: with REDIS_URL, crawler processes share one frontier in Redis.

RedisFrontier is a Scrapy scheduler on redis-py (public Scrapy scheduler API, requests as
`Request.to_dict` / `request_from_dict`). Every process shares one priority queue and one
set of request fingerprints. A request handed to a process is leased to it for
NEWS_REDIS_LEASE_SECONDS, renewed while the process holds it: until its errback ran, or its
callback ran and every item it yielded was stored (the store's story_stored), dropped or
failed, while the robots.txt middleware holds it back (its host's robots.txt answered 5xx
or nothing) until it is queued again, and while its callback holds an item back (an aggregator
copy waiting for its credited original) until the item is stored, dropped or failed; a request
a downloader middleware replaced (a redirect, a retry) ends its lease when the replacement is
queued. A request marked LOCAL_META (a credit hop, whose waiting copies live in this process)
stays in this process's own queue, its fingerprint still shared. A lease that expires (its
process died, with pages fetched but not yet stored, held for robots.txt, or copies waiting
for their original, too) puts the request back in the queue for any process. A process whose
queue is empty waits while requests are leased elsewhere (they may find more work), and closes
once the frontier has been empty for NEWS_REDIS_IDLE_SECONDS.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import pickle
import time
from collections.abc import AsyncIterator
from weakref import WeakKeyDictionary

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.request import request_from_dict
from twisted.internet.task import LoopingCall

from crawler.leases import LOCAL_META, ROBOTS, LeasedErrback, Leases, item_waiting
from crawler.robots import request_held, request_released
from pipelines.store import story_failed, story_stored

logger = logging.getLogger(__name__)

LEASE_META = "frontier_lease"
LEASE_MIDDLEWARE = "crawler.distributed.LeaseKeeper"

# Put expired leases back in the queue, then lease the first queued request.
# KEYS: queue, leases, payloads, scores. ARGV: now, lease deadline. Returns {id, payload}.
LEASE_SCRIPT = """
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], id), id)
end
local first = redis.call('ZPOPMIN', KEYS[1])
if #first == 0 then return nil end
redis.call('ZADD', KEYS[2], ARGV[2], first[1])
return {first[1], redis.call('HGET', KEYS[3], first[1])}
"""
# Queue a request unless its fingerprint was seen. KEYS: seen, sequence, payloads, scores,
# queue. ARGV: fingerprint, filter (1/0), payload, score. Returns 1 when queued.
ENQUEUE_SCRIPT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 and ARGV[2] == '1' then return 0 end
local id = string.format('%014d', redis.call('INCR', KEYS[2]))
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', KEYS[4], id, ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[4], id)
return 1
"""
# End a lease: forget the request. KEYS: leases, payloads, scores. ARGV: id.
ACK_SCRIPT = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 0
"""


def frontier_name(settings: BaseSettings, spider_name: str, today: dt.date) -> str:
    """NEWS_REDIS_FRONTIER, else the spider's name and the UTC date."""
    return settings.get("NEWS_REDIS_FRONTIER") or f"{spider_name}-{today.isoformat()}"


def use_redis_frontier(settings: BaseSettings, spider_name: str) -> None:
    """Move the request queue and fingerprints to Redis when REDIS_URL is set (else no-op).

    The frontier persists when a process closes, so a process that finishes first cannot
    erase the fingerprints another one still relies on; a new run uses a new frontier name.
    """
    if not settings.get("REDIS_URL"):
        return
    name = frontier_name(settings, spider_name, dt.datetime.now(dt.UTC).date())
    settings.set("SCHEDULER", "crawler.distributed.RedisFrontier", priority="spider")
    settings.set("NEWS_REDIS_FRONTIER", name, priority="spider")
    middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    middlewares[LEASE_MIDDLEWARE] = 0
    settings.set("SPIDER_MIDDLEWARES", middlewares, priority="spider")


class Frontier:
    """The Redis keys of one frontier and the scripts that change them atomically."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        prefix = f"newsagg:{name}"
        self.queue, self.leases = f"{prefix}:queue", f"{prefix}:leases"
        self.payloads, self.scores = f"{prefix}:payloads", f"{prefix}:scores"
        self.seen, self.sequence = f"{prefix}:dupefilter", f"{prefix}:sequence"
        self._lease = client.register_script(LEASE_SCRIPT)
        self._enqueue = client.register_script(ENQUEUE_SCRIPT)
        self._ack = client.register_script(ACK_SCRIPT)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Frontier:
        """The frontier named by NEWS_REDIS_FRONTIER at REDIS_URL."""
        return cls(redis.Redis.from_url(settings.get("REDIS_URL")),
                   settings.get("NEWS_REDIS_FRONTIER"))

    def push(self, fingerprint: str, filtered: bool, payload: bytes, priority: int) -> bool:
        """Queue a request (higher priority first, then first in); False when seen before."""
        keys = [self.seen, self.sequence, self.payloads, self.scores, self.queue]
        return bool(self._enqueue(keys=keys, args=[fingerprint, int(filtered), payload,
                                                    -priority]))

    def see(self, fingerprint: str) -> bool:
        """Record a fingerprint as seen, as queueing its request does; False when it was."""
        return bool(self.client.sadd(self.seen, fingerprint))

    def lease(self, seconds: float) -> tuple[str, bytes] | None:
        """The first queued request (id, payload), leased for SECONDS; None when none is."""
        now = time.time()
        found = self._lease(keys=[self.queue, self.leases, self.payloads, self.scores],
                            args=[now, now + seconds])
        return None if not found else (found[0].decode(), found[1])

    def ack(self, lease_id: str) -> None:
        """The leased request is done: forget it."""
        self._ack(keys=[self.leases, self.payloads, self.scores], args=[lease_id])

    def renew(self, lease_ids: list[str], seconds: float) -> None:
        """Extend these leases to SECONDS from now (one that expired meanwhile stays queued)."""
        deadline = time.time() + seconds
        self.client.zadd(self.leases, dict.fromkeys(lease_ids, deadline), xx=True)

    def sizes(self) -> tuple[int, int]:
        """(queued, leased) request counts."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(self.queue)
            pipe.zcard(self.leases)
            queued, leased = pipe.execute()
        return int(queued), int(leased)


# Per crawl: its scheduler and its LeaseKeeper share the leases.
CRAWL_LEASES: WeakKeyDictionary[Crawler, Leases] = WeakKeyDictionary()


def crawl_leases(crawler: Crawler) -> Leases:
    """The crawl's leases, made from its settings on first use."""
    if crawler not in CRAWL_LEASES:
        CRAWL_LEASES[crawler] = Leases(Frontier.from_settings(crawler.settings),
                                       crawler.settings.getfloat("NEWS_REDIS_LEASE_SECONDS"))
    return CRAWL_LEASES[crawler]


class RedisFrontier:
    """Scrapy scheduler: the queue and dedup of every process crawling one frontier."""

    def __init__(self, crawler: Crawler, leases: Leases, idle_seconds: float) -> None:
        self.crawler = crawler
        self.leases = leases
        self.frontier = leases.frontier
        self.idle_seconds = idle_seconds
        self.renewal = LoopingCall(leases.renew)
        self.spider: Spider | None = None
        self.empty_since: float | None = None
        self.waiting = False
        # Requests marked LOCAL_META, by priority then first in: (-priority, order, request).
        self.local: list[tuple[int, int, Request]] = []
        self.order = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisFrontier:
        """Build from REDIS_URL, NEWS_REDIS_FRONTIER, NEWS_REDIS_LEASE/IDLE_SECONDS."""
        return cls(crawler, crawl_leases(crawler),
                   crawler.settings.getfloat("NEWS_REDIS_IDLE_SECONDS"))

    def open(self, spider: Spider) -> None:
        """Remember the spider (its callbacks are named in stored requests); renew this
        process's leases three times per lease."""
        self.spider = spider
        logger.info("Sharing the frontier %s through Redis", self.frontier.queue)
        self.renewal.start(self.leases.seconds / 3, now=False)

    def close(self, reason: str) -> None:
        """Leave the frontier in Redis for the other processes (leases still held expire)."""
        if self.renewal.running:
            self.renewal.stop()

    def enqueue_request(self, request: Request) -> bool:
        """Queue a request unless another process or this one already queued it; a leased
        request's replacement (a redirect, a retry) ends the lease. A request marked
        LOCAL_META goes to this process's own queue."""
        if isinstance(request.errback, LeasedErrback):
            leased = request.errback
            leased.leases.request_done(leased.lease_id)
            request = request.replace(errback=leased.errback)
            request.meta.pop(LEASE_META, None)
        assert self.crawler.request_fingerprinter is not None
        fingerprint = self.crawler.request_fingerprinter.fingerprint(request).hex()
        stats = self.crawler.stats
        assert stats is not None
        if request.meta.get(LOCAL_META):
            if not self.frontier.see(fingerprint) and not request.dont_filter:
                self.crawler.signals.send_catch_log(signals.request_dropped, request=request,
                                                    spider=self.spider)
                return False
            heapq.heappush(self.local, (-request.priority, next(self.order), request))
            stats.inc_value("scheduler/enqueued/local")
            return True
        payload = pickle.dumps(request.to_dict(spider=self.spider), protocol=5)
        queued = self.frontier.push(fingerprint, not request.dont_filter, payload,
                                    request.priority)
        if queued:
            stats.inc_value("scheduler/enqueued/redis")
        else:
            self.crawler.signals.send_catch_log(signals.request_dropped, request=request,
                                                spider=self.spider)
        return queued

    def next_request(self) -> Request | None:
        """The next request of this process's own queue, else the next queued request,
        leased to this process; None when both are empty."""
        if self.local:
            return heapq.heappop(self.local)[2]
        found = self.frontier.lease(self.leases.seconds)
        if found is None:
            return None
        lease_id, payload = found
        request = request_from_dict(pickle.loads(payload), spider=self.spider)  # our own payloads
        request.meta[LEASE_META] = lease_id
        request.errback = LeasedErrback(self.leases, lease_id, request.errback)
        self.leases.take(lease_id)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("scheduler/dequeued/redis")
        self.empty_since, self.waiting = None, False
        return request

    def has_pending_requests(self) -> bool:
        """True while requests are queued or leased elsewhere (another process may find
        more), and until the frontier has been empty for NEWS_REDIS_IDLE_SECONDS.

        The engine asks only when this process is idle: its own leases are then held by
        pages waiting in the store's buffer, which find no more work.
        """
        if self.local:
            return True
        queued, leased = self.frontier.sizes()
        elsewhere = leased - len(self.leases)
        if queued or elsewhere > 0:
            if not queued and not self.waiting:
                logger.info("Waiting for work: %d requests leased to crawling processes",
                            elsewhere)
                self.waiting = True
            self.empty_since = None
            return True
        now = time.monotonic()
        if self.empty_since is None:
            self.empty_since = now
        return now - self.empty_since < self.idle_seconds


class LeaseKeeper:
    """Spider middleware (outermost) and signal handler: a leased request's response holds
    its lease until the callback is done and each item it yielded or held back is stored or
    dropped; a request held for its host's robots.txt holds it until it is queued again."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseKeeper:
        """Connect to the signals that end an item: stored, failed, dropped, or an error;
        without a store (empty DATABASE_URL), scraped; and to those that hold a request
        back for robots.txt and let it go ahead."""
        keeper = cls(crawl_leases(crawler))
        ends = [story_stored, story_failed, signals.item_dropped, signals.item_error]
        if not crawler.settings.get("DATABASE_URL"):
            ends.append(signals.item_scraped)
        for signal in ends:
            crawler.signals.connect(keeper.item_done, signal=signal)
        crawler.signals.connect(keeper.request_held, signal=request_held)
        crawler.signals.connect(keeper.request_released, signal=request_released)
        crawler.signals.connect(keeper.item_waiting, signal=item_waiting)
        return keeper

    def item_done(self, item: object) -> None:
        """Signal handler: the item's work is over."""
        self.leases.item_done(item)

    def item_waiting(self, item: object, response: Response) -> None:
        """Signal handler: the response's callback holds ITEM back; keep its lease until the
        item is stored or dropped."""
        lease_id = response.meta.get(LEASE_META)
        if lease_id is not None:
            self.leases.hold_item(lease_id, item)

    def request_held(self, request: Request) -> None:
        """Signal handler: the request waits for its host's robots.txt; keep its lease."""
        lease_id = request.meta.get(LEASE_META)
        if lease_id is not None:
            self.leases.hold(lease_id, ROBOTS)

    def request_released(self, request: Request) -> None:
        """Signal handler: the held request was queued again; its lease may end."""
        lease_id = request.meta.get(LEASE_META)
        if lease_id is not None:
            self.leases.release(lease_id, ROBOTS)

    async def process_spider_output(self, response: Response, result: AsyncIterator[object]
                                    ) -> AsyncIterator[object]:
        """Hold the response's lease for each item it yields, and end the request's own hold
        once the callback is done."""
        lease_id = response.meta.get(LEASE_META)
        try:
            async for output in result:
                if lease_id is not None and not isinstance(output, Request):
                    self.leases.hold_item(lease_id, output)
                yield output
        finally:
            if lease_id is not None:
                self.leases.request_done(lease_id)
