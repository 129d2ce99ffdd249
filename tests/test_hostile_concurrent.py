"""Two crawls storing near-duplicates at once: one story each, on SQLite and PostgreSQL.

Two page servers on loopback (127.0.0.1 and 127.0.0.2: two sites) carry STORIES stories
each; the second site's version of a story differs from the first's by one sentence and its
chrome (title, a note), so the two are near-duplicates, never exact copies. Two real
`scrapy crawl news` processes, one per site, write into one database at the same time.

No sleeps make the writes overlap: each site holds its home page until both crawls asked for
theirs (a start barrier), and both list the stories in the same order, so the two versions
of a story are stored at about the same time (each crawl's stats show how many of its
records were new and how many merged into the other's: both non-zero when they interleaved).
Holding every story until both crawls asked for it was tried and left out: with two requests
open per host the crawls wait on different stories (13 of 41 pairs missed, 8 minutes).
Without the advisory locks on band keys (PostgreSQL) or the write lock taken before the
near-duplicate lookup (SQLite), each crawl misses the other's uncommitted version and the
database ends with two stories for one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from http.server import ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from storage.migrate import upgrade_database
from storage.models import Story
from storage.read import iter_stories
from storage.session import make_engine, make_sessionmaker
from tests.crawling import FAST, REPO_ROOT
from tests.sites.faults_pages import article_html, story_paragraphs, story_title
from tests.test_hostile_network_crawl import Pages

STORIES = 40
SLUGS = [f"harbour-council-story-{n}-of-the-month" for n in range(STORIES)]
HOSTS = ("127.0.0.1", "127.0.0.2")
# Liveness only: a barrier that is not met in this time lets the request through (counted).
PAIR_TIMEOUT = 30.0
CRAWL_TIMEOUT = 300


def story_page(slug: str, mirror: bool) -> str:
    """A story's page; the mirror's has one sentence changed and other chrome."""
    paragraphs = story_paragraphs(slug)
    if not mirror:
        return article_html(story_title(slug), paragraphs, meta='<meta charset="utf-8">\n')
    first = paragraphs[0].split(". ")
    first[-1] = "A spokesperson said more details would follow next week."
    paragraphs[0] = ". ".join(first)
    return article_html(f"{story_title(slug)} | Mirror", paragraphs,
                        meta='<meta charset="utf-8">\n',
                        extra_body="<p class='note'>Republished by the mirror desk.</p>")


def home_page() -> str:
    """The home page: a link to every story, in the same order on both sites."""
    links = "".join(f"<li><a href='/news/{slug}.html'>{slug}</a></li>" for slug in SLUGS)
    return f"<html><body><ul>{links}</ul></body></html>"


class Meetings:
    """Barriers between the two sites' handlers: one per path, met by both crawls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.barriers: dict[str, threading.Barrier] = defaultdict(
            lambda: threading.Barrier(2, timeout=PAIR_TIMEOUT))
        self.arrivals: Counter[str] = Counter()
        self.met = 0
        self.missed = 0

    def meet(self, path: str) -> None:
        """Wait until the other site was asked for PATH too (its first two requests only)."""
        with self.lock:
            self.arrivals[path] += 1
            if self.arrivals[path] > 2:
                return
            barrier = self.barriers[path]
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            with self.lock:
                self.missed += 1
            return
        with self.lock:
            self.met += 1


class MeetingPages(Pages):
    """Pages whose home page waits, on its first request, for the other site's."""

    meetings: Meetings

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/":
            self.meetings.meet(self.path)
        super().do_GET()


def serve_site(host: str, pages: dict[str, str], meetings: Meetings) -> ThreadingHTTPServer:
    """A site on HOST (a free port) served by a thread."""
    handler = type("Handler", (MeetingPages,), {"pages": pages, "hits": [],
                                                "meetings": meetings})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def crawl_command(db_url: str, start: str, lock_dir: Path) -> list[str]:
    """`scrapy crawl news` of one site, each record in its own transaction (batch size 1);
    its own per-source lock folder (both crawls' source is `start_urls`)."""
    return [sys.executable, "-m", "scrapy", "crawl", "news", "-s", f"DATABASE_URL={db_url}",
            *FAST, "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_STORE_BATCH_SIZE=1",
            "-s", f"NEWS_LOCK_DIR={lock_dir}", "-a", f"start_urls={start}"]


def stat(log: str, name: str) -> int:
    """A crawl's final stat NAME from its log (0 when absent)."""
    found = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(found.group(1)) if found else 0


def test_two_crawls_of_near_duplicates_at_once_store_one_story_each(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    meetings = Meetings()
    servers = []
    for host, mirror in zip(HOSTS, (False, True), strict=True):
        pages = {"/": home_page(), **{f"/news/{slug}.html": story_page(slug, mirror)
                                      for slug in SLUGS}}
        servers.append(serve_site(host, pages, meetings))
    try:
        starts = [f"http://{host}:{server.server_address[1]}/"
                  for host, server in zip(HOSTS, servers, strict=True)]
        procs = [subprocess.Popen(crawl_command(database_url, start, tmp_path / f"locks{n}"),
                                  cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for n, start in enumerate(starts)]
        logs = [proc.communicate(timeout=CRAWL_TIMEOUT)[1] for proc in procs]
        for number, log in enumerate(logs):
            (tmp_path / f"crawl{number}.log").write_text(log, encoding="utf-8")
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    for proc, log in zip(procs, logs, strict=True):
        assert proc.returncode == 0, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert "Spider closed (finished)" in log, log[-3000:]
    new = [stat(log, "news/store/new") for log in logs]
    merged = [stat(log, "news/store/updated") + stat(log, "news/store/duplicate")
              for log in logs]
    print(f"start barrier met: {meetings.met == 2}; new per crawl {new}, "
          f"merged per crawl {merged}")
    with make_sessionmaker(engine)() as session:
        count = session.scalar(select(func.count()).select_from(Story))
        seen = [set(story.seen_urls) for story in iter_stories(session)]
    engine.dispose()
    assert count == STORIES, f"{count} stories for {STORIES} (new per crawl {new})"
    for slug in SLUGS:
        urls = {f"{start}news/{slug}.html" for start in starts}
        assert urls in seen, slug
    assert sum(new) == STORIES
    assert sum(merged) == STORIES
