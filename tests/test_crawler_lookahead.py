"""The scheduler's priority queue: a few requests per host in the downloader, least served first.

The queue is Scrapy's own class underneath; the downloader it reads is reduced to what the
queue uses of Scrapy's (the set of requests inside it and their slot keys), so that the test
can put requests in and take them out as downloads would.
"""

from __future__ import annotations

from types import SimpleNamespace

from scrapy import Request
from scrapy.squeues import FifoMemoryQueue
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.lookahead import HostBoundedPriorityQueue

PROJECT = {k: v for k, v in vars(project_settings).items() if k.isupper()}


def queue_and_downloader(**settings: object) -> tuple[HostBoundedPriorityQueue, set[Request]]:
    """A queue over a downloader whose requests are the returned set."""
    crawler = get_crawler(settings_dict={**PROJECT, **settings})
    active: set[Request] = set()
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(  # type: ignore[assignment]
        active=active,
        get_slot_key=lambda request: request.meta.get("download_slot")
        or urlparse_cached(request).hostname))
    return HostBoundedPriorityQueue.from_crawler(crawler, FifoMemoryQueue, ""), active


def take(queue: HostBoundedPriorityQueue, active: set[Request]) -> list[str]:
    """Pop until the queue hands out nothing, each request entering the downloader."""
    taken = []
    while (request := queue.pop()) is not None:
        active.add(request)
        taken.append(request.url)
    return taken


def test_a_host_gets_its_cap_plus_the_lookahead_and_the_next_host_its_share() -> None:
    queue, active = queue_and_downloader()
    for n in range(10):
        queue.push(Request(f"http://first.test/{n}"))
    assert take(queue, active) == [f"http://first.test/{n}" for n in range(4)]
    assert len(queue) == 6
    for n in range(3):
        queue.push(Request(f"http://next.test/{n}"))
    assert take(queue, active) == [f"http://next.test/{n}" for n in range(3)]
    active.remove(next(r for r in active if r.url == "http://first.test/0"))
    assert take(queue, active) == ["http://first.test/4"]


def test_the_host_with_fewest_requests_in_the_downloader_goes_first() -> None:
    queue, active = queue_and_downloader()
    active.update(Request(f"http://busy.test/in-{n}") for n in range(2))
    queue.push(Request("http://busy.test/next"))
    queue.push(Request("http://idle.test/next"))
    peeked = queue.peek()
    assert peeked is not None
    assert peeked.url == "http://idle.test/next"
    assert take(queue, active) == ["http://idle.test/next", "http://busy.test/next"]


def test_a_sources_own_cap_and_a_lookahead_setting_set_the_bound() -> None:
    queue, active = queue_and_downloader(
        NEWS_HOST_LOOKAHEAD=0, DOWNLOAD_SLOTS={"slow.test": {"concurrency": 1}})
    for n in range(5):
        queue.push(Request(f"http://slow.test/{n}"))
        queue.push(Request(f"http://other.test/{n}"))
    assert sorted(take(queue, active)) == [
        "http://other.test/0", "http://other.test/1", "http://slow.test/0"]
    active.clear()
    assert len(take(queue, active)) == 3
    active.clear()
    assert len(queue) == 4


def test_hosts_with_as_many_in_the_downloader_take_turns() -> None:
    queue, active = queue_and_downloader()
    for n in range(3):
        queue.push(Request(f"http://b.test/{n}"))
        queue.push(Request(f"http://a.test/{n}"))
    order = []
    while (request := queue.pop()) is not None:
        order.append(request.url)
    assert order == [f"http://{host}.test/{n}" for n in range(3) for host in "ab"]
