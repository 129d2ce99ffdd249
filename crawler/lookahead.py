"""Which host's request enters the downloader next: a few per host, the least served first.

Scrapy's `DownloaderAwarePriorityQueue` hands the next request to the host with the fewest
requests in its download slot, and the downloader takes up to CONCURRENT_REQUESTS (64).
A request counts in its slot only once the downloader middlewares are done with it
(robots.txt, the incremental lookup), and the queue can only choose among the hosts it
holds requests of: the first home pages parsed filled all 64 places with their own
articles, which then waited seconds for their host's delay, while the hosts parsed a moment
later waited for a place (0.35-0.9 s for their first article, on 10 hosts).

`HostBoundedPriorityQueue` counts a host's requests anywhere in the downloader, middlewares
included, hands the next request to the host with the fewest, and none to a host that
already has its cap plus NEWS_HOST_LOOKAHEAD: enough to keep its gate busy, never the
places another host needs. The engine asks again as each download ends.
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.pqueues import DownloaderAwarePriorityQueue

from crawler.politeness import crawl_gates

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class HostBoundedPriorityQueue(DownloaderAwarePriorityQueue):
    """DownloaderAwarePriorityQueue that bounds each host's requests in the downloader."""

    def __init__(self, crawler: Crawler, downstream_queue_cls: Any, key: str,
                 slot_startprios: dict[str, Any] | None = None, *,
                 start_queue_cls: Any = None) -> None:
        super().__init__(crawler, downstream_queue_cls, key, slot_startprios,
                         start_queue_cls=start_queue_cls)
        self.lookahead = crawler.settings.getint("NEWS_HOST_LOOKAHEAD")
        self.gates = crawl_gates(crawler)
        self.last_slot: str | None = None

    def next_slot(self) -> str | None:
        """The queued host with the fewest requests in the downloader, under its bound; among
        equals, the next after the host chosen last (in turn, as Scrapy's queue does)."""
        engine = self.crawler.engine
        counts: Counter[str] = Counter()
        if engine is not None:
            downloader = engine.downloader
            counts.update(downloader.get_slot_key(request) for request in downloader.active)
        room = [(counts[slot], slot) for slot in self.pqueues
                if counts[slot] < max(self.gates.gate(slot).limits.cap, 1) + self.lookahead]
        if not room:
            return None
        fewest = min(count for count, _ in room)
        tied = sorted(slot for count, slot in room if count == fewest)
        last = self.last_slot
        return next((slot for slot in tied if last is not None and slot > last), tied[0])

    def pop(self) -> Request | None:
        """The next request of the chosen host; None while every queued host is at its bound."""
        slot = self.next_slot()
        if slot is None:
            return None
        self.last_slot = slot
        queue = self.pqueues[slot]
        request = queue.pop()
        if not len(queue):
            del self.pqueues[slot]
            queue.close()
            if self.key:  # a disk queue: its slot's folder goes once empty, as Scrapy's does
                with suppress(OSError):
                    Path(queue.key).rmdir()
        return request

    def peek(self) -> Request | None:
        """The request pop would return next, left in the queue."""
        slot = self.next_slot()
        return self.pqueues[slot].peek() if slot is not None else None
