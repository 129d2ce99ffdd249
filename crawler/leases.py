"""What holds a Redis frontier lease in this process (crawler/distributed.py).

A request leased to the process is held by itself until its callback or errback is done,
then by each item its response yielded until the item is stored, dropped or failed, and by
the robots.txt middleware while it holds the request back (its host's robots.txt has not
answered) until the request is queued again, and by an item its callback held back (an
aggregator copy waiting for its credited original, announced by the signal item_waiting) until
the item is stored, dropped or failed; the lease is acked (the request forgotten) once nothing
holds it, and renewed while something does, so a page fetched but not yet stored, held back
for robots.txt, or waiting for its original, is leased until it is stored or queued again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twisted.python.failure import Failure

    from crawler.distributed import Frontier

# What holds a lease besides the items its response yielded: the request, until its callback
# or errback is done.
REQUEST = "request"
# What holds the lease of a request held back until its host's robots.txt answers.
ROBOTS = "robots"
# Request.meta key: a request this process keeps in its own queue, outside the shared frontier
# (a credit hop: the copies waiting for its response are in this process).
LOCAL_META = "frontier_local"
# Signal (with item= and response=): the response's callback holds ITEM back; its lease lasts
# until the item is stored, dropped or failed.
item_waiting = object()


class Leases:
    """The leases this process holds and what holds each: its request (REQUEST), then the
    items its response yielded (by id); a lease none holds any more is acked."""

    def __init__(self, frontier: Frontier, seconds: float) -> None:
        self.frontier = frontier
        self.seconds = seconds
        self.holders: dict[str, set[object]] = {}
        self.items: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self.holders)

    def take(self, lease_id: str) -> None:
        """A request was leased to this process."""
        self.holders[lease_id] = {REQUEST}

    def hold(self, lease_id: str, holder: object) -> None:
        """HOLDER holds the lease too, until it is released."""
        if lease_id in self.holders:
            self.holders[lease_id].add(holder)

    def hold_item(self, lease_id: str, item: object) -> None:
        """The lease's response yielded ITEM (or holds it back): the lease lasts until it is
        stored or dropped. An item may hold several leases (a copy held back by its own page,
        then yielded by its original's)."""
        if lease_id in self.holders:
            self.holders[lease_id].add(id(item))
            self.items.setdefault(id(item), []).append(lease_id)

    def request_done(self, lease_id: str) -> None:
        """The request's callback or errback is done (or a replacement was queued)."""
        self.release(lease_id, REQUEST)

    def item_done(self, item: object) -> None:
        """Signal handler: an item was stored, dropped or failed."""
        for lease_id in self.items.pop(id(item), []):
            self.release(lease_id, id(item))

    def release(self, lease_id: str, holder: object) -> None:
        """HOLDER no longer holds the lease; ack it once nothing does."""
        holders = self.holders.get(lease_id)
        if holders is None:
            return
        holders.discard(holder)
        if not holders:
            del self.holders[lease_id]
            self.frontier.ack(lease_id)

    def renew(self) -> None:
        """Extend every lease this process holds (a page waiting in the store's buffer too)."""
        if self.holders:
            self.frontier.renew(list(self.holders), self.seconds)


class LeasedErrback:
    """A leased request's errback: the request is done; then the spider's own errback."""

    def __init__(self, leases: Leases, lease_id: str,
                 errback: Callable[[Failure], object] | None) -> None:
        self.leases = leases
        self.lease_id = lease_id
        self.errback = errback

    def __call__(self, failure: Failure) -> object:
        """End the request's hold on its lease, then call the spider's errback (if any)."""
        self.leases.request_done(self.lease_id)
        if self.errback is None:
            failure.raiseException()
        return self.errback(failure)
