"""The worker pool and batched store: same records with and without the pool, nothing lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from pipelines.extract import Article
from pipelines.items import PageItem
from pipelines.store import StorePipeline
from tests.crawling import FAST, REPO_ROOT, crawl_sites, export
from tests.sites.faults_pages import generated_article
from tests.sites.server import SampleSites
from tests.test_hostile_network_crawl import Pages

SLOW = ("-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS=1")
NO_FLUSH_BEFORE_CLOSE = ("-s", "NEWS_STORE_BATCH_SIZE=100000", "-s",
                         "NEWS_STORE_BATCH_SECONDS=3600")
SCRAPED = re.compile(r"DEBUG: Scraped from <200 (\S+)>")


def by_url(stories: list[dict]) -> list[dict]:
    """Stories in URL order; their URLs as sets, without the fetch and storage times and the
    database ids (which vary)."""
    untimed = (
        {**{k: v for k, v in story.items() if k not in ("id", "updated_at")},
         "seen_urls": sorted(story["seen_urls"]),
         "urls": sorted(({k: v for k, v in u.items() if k not in ("first_seen", "last_seen")}
                         for u in story["urls"]), key=lambda u: u["url"])}
        for story in stories
    )
    return sorted(untimed, key=lambda story: str(story["url"]))


@pytest.fixture(scope="module")
def in_process(sample_sites: SampleSites, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The stories of a crawl with the pool off (NEWS_WORKERS=0)."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('pool') / 'off.db'}"
    result = crawl_sites(sample_sites, db_url, "-s", "NEWS_WORKERS=0")
    assert "Worker pool off" in result.stderr
    return by_url(export(db_url))


def test_same_records_with_the_pool(sample_sites: SampleSites, in_process: list[dict],
                                    tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'on.db'}"
    result = crawl_sites(sample_sites, db_url, "-s", "NEWS_WORKERS=2",
                         "-s", "NEWS_STORE_BATCH_SIZE=3")
    assert "Worker pool started: 2 processes" in result.stderr
    assert len(in_process) == 9
    assert by_url(export(db_url)) == in_process


def start_crawl(sites: SampleSites, db_path: Path, *args: str) -> subprocess.Popen[str]:
    """A `scrapy crawl news` subprocess of the sample universe, logging at DEBUG to a pipe."""
    start = f"{sites.urls['vietnam']}/,{sites.urls['gazette']}/"
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={start}",
         "-s", f"DATABASE_URL=sqlite:///{db_path}", "-s", "ALLOW_PRIVATE_NETWORKS=True",
         "-s", "LOG_LEVEL=DEBUG", *FAST, *args],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def read_until(proc: subprocess.Popen[str], pattern: str, lines: list[str]) -> bool:
    """Read the crawl's log into LINES until a line matches PATTERN; False at its end."""
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if re.search(pattern, line):
            return True
    return False


def stored_urls(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {row[0] for row in conn.execute("SELECT url FROM story_urls")}


class HoldingPages(Pages):
    """Serves PAGES; every article after the first is held until RELEASE is set."""

    release = threading.Event()
    articles_served = 0
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/news/"):
            with self.lock:
                first = type(self).articles_served == 0
                type(self).articles_served += 1
            if not first:
                self.release.wait()
        super().do_GET()


def test_sigint_stores_every_scraped_story(tmp_path: Path) -> None:
    """'Finished' = scraped (passed every stage, buffered by the store): all of them stored.

    The server answers the first article and holds the others until the crawl got SIGINT, so
    the run is cut after its first story, whatever the machine's speed."""
    slugs = [f"interrupted-story-number-{n}" for n in range(6)]
    pages = {"/": "<html><body>" + "".join(f"<a href='/news/{slug}.html'>{slug}</a>"
                                           for slug in slugs) + "</body></html>"}
    pages.update({f"/news/{slug}.html": generated_article(slug) for slug in slugs})
    handler = type("Handler", (HoldingPages,), {"pages": pages, "hits": [],
                                                "release": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db_path = tmp_path / "interrupted.db"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "news",
             "-a", f"start_urls=http://127.0.0.1:{server.server_address[1]}/",
             "-s", f"DATABASE_URL=sqlite:///{db_path}", "-s", "ALLOW_PRIVATE_NETWORKS=True",
             "-s", "LOG_LEVEL=DEBUG", "-s", "CONCURRENT_REQUESTS=1", *FAST,
             *NO_FLUSH_BEFORE_CLOSE],
            cwd=REPO_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        lines: list[str] = []
        assert read_until(proc, r"DEBUG: Scraped from", lines), "".join(lines)[-3000:]
        proc.send_signal(signal.SIGINT)
        handler.release.set()
        read_until(proc, r"(?!)", lines)  # (?!) never matches: read to the end
        assert proc.wait(timeout=60) == 4  # a run stopped by a signal exits 4 (docs/operations.md)
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()
    log = "".join(lines)
    assert "'finish_reason': 'shutdown'" in log
    scraped = set(SCRAPED.findall(log))
    count = int(re.search(r"'item_scraped_count': (\d+)", log).group(1))
    assert count == len(scraped) >= 1
    assert scraped == stored_urls(db_path)
    # One article in flight at the signal (one request at a time) is the most that may follow.
    assert len(scraped) <= 2 < len(slugs), "the crawl was not interrupted mid-way"


def test_killed_worker_loses_nothing(sample_sites: SampleSites, in_process: list[dict],
                                     tmp_path: Path) -> None:
    db_path = tmp_path / "killed.db"
    proc = start_crawl(sample_sites, db_path, *SLOW, "-s", "NEWS_WORKERS=2")
    lines: list[str] = []
    assert read_until(proc, r"Worker pool started", lines), "".join(lines)[-3000:]
    workers = [p for child in psutil.Process(proc.pid).children()
               for p in child.children()]
    assert workers
    workers[0].kill()
    read_until(proc, r"(?!)", lines)  # (?!) never matches: read to the end
    assert proc.wait(timeout=120) == 0
    log = "".join(lines)
    assert "Worker pool broke (BrokenProcessPool" in log
    assert "Traceback" not in log
    assert by_url(export(f"sqlite:///{db_path}")) == in_process


def item(url: str, title: str | None) -> PageItem:
    """A processed item as the store stage receives it."""
    article = Article(title=title, text=f"Body of {url}. " * 30, authors=[],  # type: ignore[arg-type]
                      published_at=None, publisher=None, language="en", canonical_url=None,
                      description=None)
    return PageItem(url=url, html=b"", source="test", fetched_at=dt.datetime.now(dt.UTC),
                    request_url=url, article=article, canonical_url=url,
                    content_hash=url.rsplit("/", 1)[-1] * 8)


def test_failed_batch_is_written_record_by_record(tmp_path: Path) -> None:
    db_path = tmp_path / "batch.db"
    crawler = get_crawler(settings_dict={"DATABASE_URL": f"sqlite:///{db_path}",
                                         "NEWS_STORE_BATCH_SIZE": 3,
                                         "NEWS_STORE_BATCH_SECONDS": 0,
                                         "NEWS_DEDUP_THRESHOLD": 0.5,
                                         "NEWS_DEDUP_NUM_PERM": 64})
    crawler.stats.open_spider()
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    for name, title in (("a", "A"), ("b", None), ("c", "C"), ("d", "D")):
        asyncio.run(store.process_item(item(f"http://127.0.0.1/{name}", title)))
    assert stored_urls(db_path) == {"http://127.0.0.1/a", "http://127.0.0.1/c"}
    asyncio.run(store.close_spider())
    assert stored_urls(db_path) == {f"http://127.0.0.1/{n}" for n in "acd"}
    assert crawler.stats.get_value("news/store/failed") == 1
    assert crawler.stats.get_value("news/store/new") == 3


def few_files() -> None:
    """Allow the crawl 64 open files: enough for it alone, not for 40 worker processes."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_pool_that_cannot_start_falls_back_in_process(
    sample_sites: SampleSites, in_process: list[dict], tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'fallback.db'}"
    start = f"{sample_sites.urls['vietnam']}/,{sample_sites.urls['gazette']}/"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={start}",
         "-s", f"DATABASE_URL={db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True", *FAST,
         "-s", "NEWS_WORKERS=40"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        preexec_fn=few_files)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Worker processes could not start (OSError" in result.stderr
    assert "processing pages in-process" in result.stderr
    assert by_url(export(db_url)) == in_process


def test_workers_end_with_a_killed_crawl(sample_sites: SampleSites, tmp_path: Path) -> None:
    proc = start_crawl(sample_sites, tmp_path / "killed-crawl.db", *SLOW, "-s", "NEWS_WORKERS=2")
    lines: list[str] = []
    assert read_until(proc, r"Worker pool started", lines), "".join(lines)[-3000:]
    tree = psutil.Process(proc.pid).children(recursive=True)
    assert len(tree) >= 3  # the forkserver, its two workers (and a resource tracker)
    proc.kill()
    proc.wait()
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert not alive, [p.cmdline()[:3] for p in alive]


def test_workers_yield_the_cpu_to_the_crawl(sample_sites: SampleSites, tmp_path: Path) -> None:
    proc = start_crawl(sample_sites, tmp_path / "nice.db", *SLOW, "-s", "NEWS_WORKERS=2",
                       "-s", "NEWS_WORKERS_NICE=4")
    lines: list[str] = []
    try:
        assert read_until(proc, r"Worker pool started", lines), "".join(lines)[-3000:]
        crawl = psutil.Process(proc.pid)
        nicer = [p for p in crawl.children(recursive=True) if p.nice() == crawl.nice() + 4]
        assert len(nicer) == 2  # the two workers; the forkserver keeps the crawl's
    finally:
        proc.kill()
        proc.wait()
