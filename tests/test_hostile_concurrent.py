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
import time
from collections import Counter, defaultdict
from http.server import ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from pipelines.store import Saved, write_batch
from storage.migrate import upgrade_database
from storage.models import Story
from storage.read import iter_stories
from storage.records import ArticleRecord
from storage.session import make_engine, make_sessionmaker
from tests.crawling import FAST, REPO_ROOT
from tests.servers import new_postgres_database
from tests.sites.faults_pages import article_html, story_paragraphs, story_title
from tests.test_hostile_network_crawl import Pages
from tests.test_storage import T0, record
from tests.test_storage_order import BRIDGE, FERRY, FINDER, P1, X, with_dedup_keys
from tests.test_storage_order import text as order_text

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


def waiting_for_locks(engine: Engine) -> int:
    """How many advisory lock requests on the database wait (not granted) right now."""
    with engine.connect() as conn:
        waiting = conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
        return int(waiting.scalar_one())


def wait_for_waiters(engine: Engine, count: int) -> None:
    """Poll pg_locks until COUNT advisory lock requests wait (database state, not timing)."""
    deadline = time.monotonic() + PAIR_TIMEOUT
    while waiting_for_locks(engine) < count:
        assert time.monotonic() < deadline, f"fewer than {count} writers waited for a lock"
        time.sleep(0.02)


def test_batches_holding_stories_in_crossed_order_do_not_deadlock(postgres_url: str) -> None:
    """Two writers, each with its own connection, write batches [A, B] and [B, A] at once.

    A third connection holds one of A's band keys, so the first writer waits inside its
    batch's locking; the second writer starts once the first waits, and waits in turn; then
    the key is released. Locked record by record, the first writer held A's body hash while
    the second held B's and waited for A's: PostgreSQL aborted one (DeadlockDetected). Locked
    up front in one order, the second simply waits for the first: no error, two stories.
    """
    engine = make_engine(new_postgres_database(postgres_url))
    upgrade_database(engine)
    sessions = make_sessionmaker(engine)
    story_a = with_dedup_keys(record(X, order_text(BRIDGE)), T0)
    story_b = with_dedup_keys(record(P1, order_text(FERRY)), T0)
    held_band = min(set(story_a.bands) - set(story_b.bands))
    results: dict[int, list[Saved] | Exception] = {}

    def writer(number: int, batch: list[ArticleRecord]) -> None:
        try:
            with sessions.begin() as session:
                results[number] = write_batch(session, batch, FINDER)
        except Exception as exc:  # noqa: BLE001 - the test reports what the writer raised
            results[number] = exc

    threads = [threading.Thread(target=writer, args=(1, [story_a, story_b])),
               threading.Thread(target=writer, args=(2, [story_b, story_a]))]
    with engine.connect() as blocker:
        blocker.execute(text("SELECT pg_advisory_lock(:k)"), {"k": held_band})
        threads[0].start()
        wait_for_waiters(engine, 1)
        threads[1].start()
        wait_for_waiters(engine, 2)
        blocker.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": held_band})
        blocker.commit()
    for thread in threads:
        thread.join(CRAWL_TIMEOUT)
    assert all(isinstance(result, list) and len(result) == 2 for result in results.values()), \
        results
    outcomes = sorted((saved[0].value, saved[1]) for result in results.values()
                      if isinstance(result, list) for saved in result)
    with sessions() as session:
        stored = dict(session.execute(select(Story.url, Story.id)).all())
    engine.dispose()
    assert sorted(stored) == sorted([X, P1])
    assert outcomes == sorted([("new", stored[X]), ("new", stored[P1]),
                               ("duplicate", stored[X]), ("duplicate", stored[P1])])
