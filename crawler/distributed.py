"""Distributed crawling: with REDIS_URL, crawler processes share one frontier in Redis."""

from __future__ import annotations

import datetime as dt

from scrapy.settings import BaseSettings

REDIS_SCHEDULER = "scrapy_redis.scheduler.Scheduler"
REDIS_DUPEFILTER = "scrapy_redis.dupefilter.RFPDupeFilter"


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
    settings.set("SCHEDULER", REDIS_SCHEDULER, priority="spider")
    settings.set("DUPEFILTER_CLASS", REDIS_DUPEFILTER, priority="spider")
    settings.set("SCHEDULER_PERSIST", True, priority="spider")
    settings.set("SCHEDULER_QUEUE_KEY", f"newsagg:{name}:requests", priority="spider")
    settings.set("SCHEDULER_DUPEFILTER_KEY", f"newsagg:{name}:dupefilter", priority="spider")
