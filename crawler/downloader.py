"""Scrapy's downloader with its per-host concurrency limit kept when DOWNLOAD_DELAY is 0."""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.defer import _schedule_coro


class SlotLimitDownloader(Downloader):
    """Count a download against its slot as soon as it is scheduled, not when it starts.

    Scrapy (2.19, asyncio reactor) starts each download as a task and adds the request to
    `slot.transferring` only once that task runs, so with no delay `_process_queue`'s loop sees
    a free slot every time and sends the whole queue at once: 8 requests in flight to a host
    limited to CONCURRENT_REQUESTS_PER_DOMAIN=1. With a delay Scrapy sends one request per call
    and is left alone.
    """

    def _process_queue(self, slot: Slot) -> None:
        """Start queued downloads while the slot has room, counting each one at once."""
        if slot.latercall or slot.delay:
            super()._process_queue(slot)
            return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = monotonic()
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
