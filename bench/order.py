"""Arrival-order benchmark: the bench site's pages stored in shuffled orders, stories compared.

Run from the repository root (never from the test suite):

    .venv/bin/python bench/order.py                  # 600 pages, the site order + 9 shuffles
    .venv/bin/python bench/order.py --pages 2000 --orders 4

The pages of bench/newssite.py (no server: rendered in memory) go once through what the
spider and the worker pool do (decode, credited original, extraction, language), then, for
each order, through the real dedup stage and the store's write_record in batches of
NEWS_STORE_BATCH_SIZE, each batch one transaction into a fresh SQLite file, the near-duplicate
index told after each commit as in a crawl. Prints per order the outcomes and the CPU seconds
of the writes, then how many stories differ from the first order's (main URL; any field or
URL relation) and how many URL groups are not the same.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import selectinload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.newssite import DEFAULT_DATASET, NewsSite, load_templates  # noqa: E402
from crawler import settings as defaults  # noqa: E402
from crawler.encoding import utf8_page  # noqa: E402
from crawler.pages import credited_url, page_anchors, parse_html  # noqa: E402
from pipelines.dedup import DedupPipeline  # noqa: E402
from pipelines.items import PageItem  # noqa: E402
from pipelines.markers import load_markers  # noqa: E402
from pipelines.store import article_record, write_record  # noqa: E402
from pipelines.work import LanguageOptions, process_page  # noqa: E402
from storage.migrate import upgrade_database  # noqa: E402
from storage.models import Story  # noqa: E402
from storage.session import make_engine, make_sessionmaker  # noqa: E402

BASE = "http://bench.example"
NOW = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
Stories = dict[tuple[str, ...], tuple[object, ...]]


def processed_items(pages: int, dataset: Path) -> list[PageItem]:
    """The site's article pages as items after the spider and the worker pool."""
    site = NewsSite(load_templates(dataset, pages), pages)
    options = LanguageOptions(defaults.NEWS_LANGUAGE_MIN_CHARS,
                              defaults.NEWS_LANGUAGE_SAMPLE_CHARS, defaults.NEWS_LANGUAGE_SEED)
    markers = load_markers()
    items = []
    for path, body in site.article_pages():
        url = f"{BASE}{path}"
        response = HtmlResponse(url=url, body=body)
        html = utf8_page(response.body, response.encoding, response.text)
        root = parse_html(html)
        result = process_page(html, url, options)
        if result.article is None:
            continue
        items.append(PageItem(
            url=url, html=b"", source="bench", fetched_at=NOW, request_url=url,
            credited_url=credited_url(root, page_anchors(root, url), url, markers),
            article=result.article, language=result.language.code,
            language_probability=result.language.probability,
            language_method=result.language.method))
    return items


def store_in_order(items: list[PageItem], folder: Path) -> tuple[Counter[str], float, Stories]:
    """Dedup and store the items in this order; (outcomes, write CPU seconds, stories)."""
    engine = make_engine(f"sqlite:///{folder / 'order.db'}")
    upgrade_database(engine)
    sessions = make_sessionmaker(engine)
    dedup = DedupPipeline(get_crawler(), defaults.NEWS_DEDUP_THRESHOLD,
                          defaults.NEWS_DEDUP_SHINGLE_SIZE, defaults.NEWS_DEDUP_NUM_PERM)
    outcomes: Counter[str] = Counter()
    cpu = 0.0
    for start in range(0, len(items), defaults.NEWS_STORE_BATCH_SIZE):
        batch = [dedup.process_item(copy.copy(item))
                 for item in items[start:start + defaults.NEWS_STORE_BATCH_SIZE]]
        records = [article_record(item) for item in batch]
        started = time.process_time()
        with sessions.begin() as session:
            saved = [write_record(session, record, dedup.finder)[:2] for record in records]
        cpu += time.process_time() - started
        for item, (outcome, story_id) in zip(batch, saved, strict=True):
            item.story_id, item.outcome = story_id, outcome.value
            outcomes[outcome.value] += 1
    with sessions() as session:
        stories = {
            tuple(sorted(u.url for u in story.urls)): (
                story.url, story.title, story.text, story.authors, story.published_at,
                story.language, story.content_hash, story.minhash, story.site,
                story.publisher, story.original_url,
                sorted((u.url, u.relation.value, u.kind) for u in story.urls))
            for story in session.scalars(select(Story).options(selectinload(Story.urls)))}
    engine.dispose()
    return outcomes, cpu, stories


def main() -> None:
    """Store the pages in several orders and print how the stories differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    items = processed_items(args.pages, args.dataset)
    print(f"{len(items)} article pages processed")
    results = []
    for seed in range(args.orders):
        order = list(items)
        if seed:
            random.Random(seed).shuffle(order)
        with tempfile.TemporaryDirectory() as folder:
            outcomes, cpu, stories = store_in_order(order, Path(folder))
        results.append(stories)
        first = results[0]
        shared = first.keys() & stories.keys()
        print(f"order {seed}: {len(stories)} stories, {dict(sorted(outcomes.items()))}, "
              f"writes {cpu:.3f} CPU s; against order 0: URL groups not shared "
              f"{len(first.keys() ^ stories.keys())}, main URL differs "
              f"{sum(first[k][0] != stories[k][0] for k in shared)}, any field differs "
              f"{sum(first[k] != stories[k] for k in shared)}")


if __name__ == "__main__":
    main()
