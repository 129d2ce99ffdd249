"""Retention and the schema's commands: `scrapy prune` while a crawl writes, `scrapy migrate`."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from pipelines.neardup import NearDuplicateFinder, permutations, signature, to_bytes
from pipelines.store import write_record
from storage.migrate import current_revision, head_revision, migrated_engine
from storage.models import Story, StoryBand, StoryUrl
from storage.records import ArticleRecord
from storage.retention import prune_stories
from storage.session import make_engine, make_sessionmaker, shared_engine
from tests.crawling import FAST, REPO_ROOT, scrapy
from tests.sites.server import SampleSites

OLD = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
FINDER = NearDuplicateFinder(0.5, 64)
COEFFICIENTS = permutations(64)
WORDS = [f"{stem}{n}" for stem in ("harbour", "council", "river", "bridge", "school", "market")
         for n in range(300)]


def old_record(number: int, source: str = "old") -> ArticleRecord:
    """A stored-looking story of 2023, with its signature and band keys."""
    words = random.Random(f"{source}-{number}").choices(WORDS, k=80)
    sig = signature(words, 3, COEFFICIENTS)
    assert sig is not None
    url = f"https://old.example/{source}/{number}.html"
    return ArticleRecord(url=url, site="old.example", source=source, title=f"Old {number}",
                         text=" ".join(words), content_hash=f"{source}-{number}",
                         fetched_at=OLD, aliases=(f"{url}?utm_source=x",),
                         minhash=to_bytes(sig), bands=FINDER.band_keys(sig))


def fill(db_url: str, count: int, source: str = "old") -> None:
    """COUNT old stories through the store's own write path."""
    sessions = make_sessionmaker(migrated_engine(db_url))
    with sessions.begin() as session:
        for number in range(count):
            write_record(session, old_record(number, source), FINDER)


def counts(db_url: str) -> tuple[int, int, int]:
    """(stories, URL rows, band rows) of the old source."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        old = select(Story.id).where(Story.source.like("old%"))
        result = tuple(conn.execute(select(func.count()).select_from(table)
                                    .where(column.in_(old))).scalar_one()
                       for table, column in ((Story, Story.id), (StoryUrl, StoryUrl.story_id),
                                             (StoryBand, StoryBand.story_id)))
    engine.dispose()
    return result  # type: ignore[return-value]


def test_prune_deletes_old_stories_of_a_source_and_their_rows(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'prune.db'}"
    fill(db_url, 30, "old")
    fill(db_url, 5, "old-kept")
    assert counts(db_url) == (35, 70, 35 * FINDER.bands)
    sessions = make_sessionmaker(shared_engine(db_url))
    assert prune_stories(sessions, OLD, batch=7) == 0
    assert prune_stories(sessions, OLD + dt.timedelta(days=1), "old", batch=7) == 30
    assert counts(db_url) == (5, 10, 5 * FINDER.bands)


def test_migrate_command_upgrades_once(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'migrate.db'}"
    result = scrapy("migrate", "-s", f"DATABASE_URL={db_url}")
    assert result.returncode == 0, result.stderr
    assert f"upgraded from empty to revision {head_revision()}" in result.stdout
    again = scrapy("migrate", "-s", f"DATABASE_URL={db_url}")
    assert f"already at revision {head_revision()}" in again.stdout
    assert current_revision(make_engine(db_url)) == head_revision()


def test_prune_while_a_crawl_writes(sample_sites: SampleSites, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    fill(db_url, 2000)
    start = f"{sample_sites.urls['vietnam']}/,{sample_sites.urls['gazette']}/"
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={start}",
         "-s", f"DATABASE_URL={db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True", *FAST,
         "-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=0.6",
         "-s", "NEWS_STORE_BATCH_SIZE=1"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    engine = make_engine(db_url)
    new = select(func.count()).select_from(Story).where(Story.source == "start_urls")
    deadline = time.monotonic() + 120
    while True:  # until the crawl has stored its first story
        with engine.connect() as conn:
            if conn.execute(new).scalar_one():
                break
        assert crawl.poll() is None, "the crawl ended without storing a story"
        assert time.monotonic() < deadline, "no story stored in 120 s"
        time.sleep(0.05)
    pruned = scrapy("prune", "--before", "2024-01-01", "--batch", "20",
                    "-s", f"DATABASE_URL={db_url}")
    assert crawl.poll() is None, "the crawl ended before the prune: nothing ran at once"
    stderr = crawl.communicate(timeout=300)[1]
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 2000 stories last updated before 2024-01-01T00:00:00+00:00" in pruned.stderr
    assert crawl.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    assert counts(db_url) == (0, 0, 0)
    with engine.connect() as conn:
        assert conn.execute(new).scalar_one() == 9
    engine.dispose()
