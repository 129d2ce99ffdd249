"""The item stages chained as Scrapy builds them, on real pages, into a real SQLite file."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from pipelines.dedup import DedupPipeline
from pipelines.items import PageItem
from pipelines.pool import PoolPipeline
from pipelines.store import StorePipeline
from storage.read import iter_stories
from storage.session import make_engine, make_sessionmaker
from tests.sites.server import render

SITES = Path(__file__).parent / "sites"
URLS = {"vietnam": "http://127.0.0.2:8000", "daidoanket": "http://127.0.0.3:8000",
        "gazette": "http://127.0.0.4:8000"}
SEED = "lao-cai-phat-huy-vai-tro-cua-cong-doan-trong-xay-dung-dang-xay-dung-chinh-quyen"
NOW = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)


def page_item(site: str, path: str, credited: str | None = None) -> PageItem:
    html = render((SITES / site / path.lstrip("/")).read_text(encoding="utf-8"), URLS)
    url = f"{URLS[site]}{path}"
    return PageItem(url=url, html=html.encode("utf-8"), source="test", fetched_at=NOW,
                    request_url=url, credited_url=credited)


@pytest.fixture
def stages(tmp_path: Path):
    project = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    db_url = f"sqlite:///{tmp_path / 'stages.db'}"
    crawler = get_crawler(settings_dict={**project, "DATABASE_URL": db_url, "NEWS_WORKERS": 0,
                                         "NEWS_STORE_BATCH_SIZE": 1})
    crawler.stats.open_spider()
    built = [build_from_crawler(cls, crawler)
             for cls in (PoolPipeline, DedupPipeline, StorePipeline)]
    built[2].open_spider()
    yield built, db_url, crawler.stats
    asyncio.run(built[2].close_spider())
    asyncio.run(built[0].close_spider())


def run(stages_: list, item: PageItem) -> PageItem:
    item = asyncio.run(stages_[0].process_item(item))
    item = stages_[1].process_item(item)
    return asyncio.run(stages_[2].process_item(item))


def stored(db_url: str) -> list:
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        stories = list(iter_stories(session))
    engine.dispose()
    return stories


def test_copy_and_original_through_every_stage(stages) -> None:
    built, db_url, stats = stages
    original = f"{URLS['daidoanket']}/{SEED}-10287654.html"
    copy = run(built, page_item("vietnam", f"/{SEED}-post1045123.html", credited=original))
    assert copy.language == "vi"
    assert copy.language_method == "detected"
    assert copy.html == b""
    run(built, page_item("daidoanket", f"/{SEED}-10287654.html"))
    (story,) = stored(db_url)
    assert story.url == original
    assert story.original_url == original
    assert story.publisher == "Báo Đại đoàn kết"
    assert story.authors == ["Tuệ Phương"]
    assert stats.get_value("news/store/new") == 1
    assert stats.get_value("news/store/updated") == 1


def test_listing_page_is_dropped(stages) -> None:
    built, db_url, stats = stages
    with pytest.raises(DropItem, match="no article"):
        run(built, page_item("vietnam", "/tag/cong-doan/index.html"))
    assert stored(db_url) == []
    assert stats.get_value("news/extract/not_article") == 1


def test_store_needs_a_database_url() -> None:
    crawler = get_crawler(settings_dict={"DATABASE_URL": ""})
    with pytest.raises(NotConfigured):
        build_from_crawler(StorePipeline, crawler)
