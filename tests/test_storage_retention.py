"""Retention and the schema's commands: `scrapy prune` while a crawl writes, `scrapy migrate`."""

from __future__ import annotations

import datetime as dt
import http.server
import random
import subprocess
import sys
import threading
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
from tests.sites.faults_pages import generated_article
from tests.test_hostile_network_crawl import Pages

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


class GatedPages(Pages):
    """Serves PAGES; the page at GATED waits until OPEN is set (the crawl is held there)."""

    gated = ""
    open = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        if self.path == self.gated:
            self.open.wait()
        super().do_GET()


def test_prune_while_a_crawl_writes(tmp_path: Path) -> None:
    """The crawl stores its first stories while one page (in one of its two slots) is held
    until the prune is done: the prune runs while the crawl is open and writing, and neither
    loses the other's rows."""
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    fill(db_url, 2000)
    slugs = [f"harbour-bridge-reopens-after-repairs-part-{n}" for n in range(4)]
    pages = {"/": "<html><body>" + "".join(f"<a href='/news/{slug}.html'>{slug}</a>"
                                           for slug in slugs) + "</body></html>"}
    pages.update({f"/news/{slug}.html": generated_article(slug) for slug in slugs})
    handler = type("Handler", (GatedPages,), {"pages": pages, "hits": [],
                                              "gated": f"/news/{slugs[-1]}.html",
                                              "open": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "news",
             "-a", f"start_urls=http://127.0.0.1:{server.server_address[1]}/",
             "-s", f"DATABASE_URL={db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True", *FAST,
             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "DOWNLOAD_TIMEOUT=600",
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
        handler.open.set()
        stderr = crawl.communicate(timeout=300)[1]
    finally:
        handler.open.set()
        server.shutdown()
        server.server_close()
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 2000 stories last updated before 2024-01-01T00:00:00+00:00" in pruned.stderr
    assert crawl.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    assert counts(db_url) == (0, 0, 0)
    with engine.connect() as conn:
        assert conn.execute(new).scalar_one() == len(slugs)
    engine.dispose()
