"""Real crawls: near-duplicates merge, aliases keep their kind, reruns fetch only what is new."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawling import crawl, export, log_size, requests_since
from tests.sites.server import SITES_ROOT, SampleSites

REPO_ROOT = Path(__file__).resolve().parent.parent
GLACIERS = "/world/2024/09/04/alpine-glaciers-record-loss.html"
GLACIERS_COPY = "/stories/2024/09/05/alpine-glaciers-summer-melt.html"
HARVEST = "/stories/2024/09/06/orchard-harvest-starts-early.html"
MARKET = "/stories/2024/09/07/covered-market-for-station-square.html"
LIBRARY = "/news/2024/09/03/old-library-reopens.html"
ARTICLE_MARKERS = ("/news/", "/world/20", "/fr/actualites/", "/stories/", "/amp/", "/print/")


class Crawled:
    """A crawl of the gazette and the mirror: its database, export and server requests."""

    def __init__(self, db_url: str, stories: list[dict], requests: list[str]) -> None:
        self.db_url = db_url
        self.stories = stories
        self.requests = requests

    def story_seen_at(self, url: str) -> dict:
        (found,) = [s for s in self.stories if url in s["seen_urls"]]
        return found


def start_urls(sites: SampleSites) -> str:
    return f"start_urls={sites.urls['gazette']}/,{sites.urls['mirror']}/"


def article_requests(requests: list[str]) -> list[str]:
    """Request log lines for article pages (not robots, feeds, sitemaps, home or sections)."""
    return [r for r in requests if any(m in r.split()[3] for m in ARTICLE_MARKERS)]


@pytest.fixture(scope="module")
def crawled(sample_sites: SampleSites, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('dedup') / 'news.db'}"
    offset = log_size(sample_sites)
    crawl(db_url, "-a", start_urls(sample_sites))
    return Crawled(db_url, export(db_url), requests_since(sample_sites, offset))


def test_aggregator_copy_merges_into_the_original(
    crawled: Crawled, sample_sites: SampleSites
) -> None:
    original = f"{sample_sites.urls['gazette']}{GLACIERS}"
    copy = f"{sample_sites.urls['mirror']}{GLACIERS_COPY}"
    story = crawled.story_seen_at(original)
    assert story["url"] == original
    assert copy in story["seen_urls"]
    relations = {u["url"]: u["relation"] for u in story["urls"]}
    assert relations == {original: "original", copy: "aggregator"}
    assert "Saharan dust" in story["text"]
    assert "morning briefing" not in story["text"]
    assert all(u["first_seen"] <= u["last_seen"] for u in story["urls"])


def test_amp_print_and_tracking_variants_are_aliases(
    crawled: Crawled, sample_sites: SampleSites
) -> None:
    gazette, mirror = sample_sites.urls["gazette"], sample_sites.urls["mirror"]
    library = crawled.story_seen_at(f"{gazette}{LIBRARY}")
    kinds = {u["url"]: (u["relation"], u["kind"]) for u in library["urls"]}
    assert kinds[f"{gazette}/amp/old-library-reopens.html"] == ("alias", "amp")
    assert kinds[f"{gazette}/print/old-library-reopens.html"] == ("alias", "print")
    assert kinds[f"{gazette}{LIBRARY}"] == ("original", None)
    harvest = crawled.story_seen_at(f"{mirror}{HARVEST}")
    tracking = f"{mirror}{HARVEST}?utm_source=homepage&utm_medium=promo"
    assert {u["url"]: u["kind"] for u in harvest["urls"]}[tracking] == "tracking"


def test_stories_sharing_a_boilerplate_paragraph_stay_apart(
    crawled: Crawled, sample_sites: SampleSites
) -> None:
    mirror = sample_sites.urls["mirror"]
    harvest = crawled.story_seen_at(f"{mirror}{HARVEST}")
    market = crawled.story_seen_at(f"{mirror}{MARKET}")
    assert harvest["title"] != market["title"]
    assert "Valley Growers Cooperative" in harvest["text"]
    assert "Valley Growers Cooperative" in market["text"]
    assert len(crawled.stories) == 7


def test_second_crawl_fetches_no_known_article(
    crawled: Crawled, sample_sites: SampleSites
) -> None:
    offset = log_size(sample_sites)
    result = crawl(crawled.db_url, "-a", start_urls(sample_sites))
    second = requests_since(sample_sites, offset)
    assert article_requests(crawled.requests)
    assert article_requests(second) == []
    fetched = {tuple(r.split()[1:4:2]) for r in second}
    for expected in [("gazette", "/robots.txt"), ("gazette", "/sitemap.xml"),
                     ("gazette", "/atom.xml"), ("gazette", "/"), ("mirror", "/")]:
        assert expected in fetched, expected
    assert "'news/incremental/skipped'" in result.stderr
    assert "'news/incremental/answered_ahead'" in result.stderr  # looked up per callback
    assert len(second) < len(crawled.requests)
    assert export(crawled.db_url) == crawled.stories
    print(f"requests: first crawl {len(crawled.requests)}, second crawl {len(second)}")


@pytest.fixture
def editable_sites(tmp_path: Path) -> Iterator[tuple[SampleSites, Path]]:
    """A second sample universe served from a copy of the sites that a test may edit."""
    root = tmp_path / "sites"
    shutil.copytree(SITES_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sites.server", "--root", str(root)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"sample sites server did not start; see {log_path}"
        yield SampleSites(urls=json.loads(line), log_path=log_path), root
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_changed_article_produces_a_revision(
    editable_sites: tuple[SampleSites, Path], tmp_path: Path
) -> None:
    sites, root = editable_sites
    db_path = tmp_path / "news.db"
    db_url = f"sqlite:///{db_path}"
    mirror_only = f"start_urls={sites.urls['mirror']}/"
    crawl(db_url, "-a", mirror_only)
    page = root / "mirror" / MARKET.lstrip("/")
    page.write_text(page.read_text(encoding="utf-8").replace(
        "next spring", "in early March"), encoding="utf-8")
    offset = log_size(sites)
    result = crawl(db_url, "-a", mirror_only, "-s", "NEWS_RECRAWL_INTERVAL=0.001")
    revisits = article_requests(requests_since(sites, offset))
    assert f"REQ mirror GET {MARKET} 200" in revisits
    assert f"REQ mirror GET {HARVEST} 304" in revisits
    assert "'news/incremental/not_modified'" in result.stderr
    market = [s for s in export(db_url) if s["url"].endswith(MARKET)]
    assert len(market) == 1
    assert "in early March" in market[0]["text"]
    with sqlite3.connect(db_path) as conn:
        revisions = conn.execute(
            "SELECT r.revision, r.url, r.text FROM story_revisions r "
            "JOIN stories s ON s.id = r.story_id").fetchall()
    assert len(revisions) == 1
    number, url, text = revisions[0]
    assert (number, url) == (1, market[0]["url"])
    assert "next spring" in text
    assert "in early March" not in text
