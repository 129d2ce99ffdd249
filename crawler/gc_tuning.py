"""Garbage collector tuning for the crawl process: a long run keeps a large, growing heap."""

from __future__ import annotations

import gc
import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


class GarbageCollectorTuning:
    """Freeze what startup allocated out of the collector's sight; set its thresholds.

    Python's full collections traverse every tracked object. In a crawl most of them were
    made at startup (modules, settings, components) and live to the end, so each full
    collection walks them again for nothing: frozen at spider open, they are skipped.
    """

    def __init__(self, freeze: bool, thresholds: tuple[int, ...] | None) -> None:
        self.freeze = freeze
        self.thresholds = thresholds

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GarbageCollectorTuning:
        """Built from NEWS_GC_FREEZE and NEWS_GC_THRESHOLDS; off when neither asks anything."""
        settings = crawler.settings
        thresholds = settings.getlist("NEWS_GC_THRESHOLDS")
        extension = cls(settings.getbool("NEWS_GC_FREEZE"),
                        tuple(int(t) for t in thresholds) if thresholds else None)
        if not extension.freeze and extension.thresholds is None:
            raise NotConfigured("NEWS_GC_FREEZE is off and NEWS_GC_THRESHOLDS empty")
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self) -> None:
        """Apply the thresholds, then freeze everything allocated so far."""
        if self.thresholds is not None:
            gc.set_threshold(*self.thresholds)
        if self.freeze:
            gc.collect()
            gc.freeze()
        logger.debug("Garbage collector: thresholds %s, %d objects frozen",
                     gc.get_threshold(), gc.get_freeze_count())
