"""The crawl process's garbage collector tuning (crawler.gc_tuning)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.gc_tuning import GarbageCollectorTuning

PROJECT = {k: v for k, v in vars(project_settings).items() if k.isupper()}


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_spider_open_freezes_startup_objects_and_sets_thresholds() -> None:
    extension = GarbageCollectorTuning.from_crawler(get_crawler(settings_dict=PROJECT))
    assert gc.get_freeze_count() == 0
    extension.spider_opened()
    assert gc.get_freeze_count() > 10_000  # modules, settings, components
    assert gc.get_threshold() == tuple(project_settings.NEWS_GC_THRESHOLDS)


@pytest.mark.usefixtures("restored_collector")
def test_python_defaults_when_asked() -> None:
    settings = {**PROJECT, "NEWS_GC_THRESHOLDS": [], "NEWS_GC_FREEZE": False}
    with pytest.raises(NotConfigured):
        GarbageCollectorTuning.from_crawler(get_crawler(settings_dict=settings))
    thresholds = gc.get_threshold()
    extension = GarbageCollectorTuning.from_crawler(
        get_crawler(settings_dict={**settings, "NEWS_GC_FREEZE": True}))
    extension.spider_opened()
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() > 0
