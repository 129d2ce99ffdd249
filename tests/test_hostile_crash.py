"""SIGKILL in the middle of a crawl: what was committed is whole, the next crawl finishes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.crawling import FAST, REPO_ROOT, crawl, export
from tests.sites.faults import FaultSite
from tests.sites.faults_pages import story_title
from tests.sites.faults_routes import PACE_STORIES

KILL_AFTER_STORIES = 3
WAIT_SECONDS = 60.0


def stored_count(db_path: Path) -> int:
    """Stories committed so far, read without writing (0 before the schema exists)."""
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def kill_after_some_stories(args: list[str], db_path: Path) -> int:
    """Run a crawl and SIGKILL it once a few stories are committed; the count at that moment.

    Stories are committed one per transaction (NEWS_STORE_BATCH_SIZE=1). Once a few are in,
    the test takes the database's write lock, so the crawl cannot commit more; it counts the
    stories and kills the crawl while it waits on the lock.
    """
    proc = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while stored_count(db_path) < KILL_AFTER_STORIES:
            assert proc.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "no stories committed"
            time.sleep(0.02)
        with sqlite3.connect(db_path, timeout=30, isolation_level=None) as lock:
            lock.execute("BEGIN IMMEDIATE")
            killed_at = int(lock.execute("SELECT count(*) FROM stories").fetchone()[0])
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            lock.execute("ROLLBACK")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert stored_count(db_path) == killed_at
    return killed_at


def test_sigkill_mid_crawl_keeps_committed_stories_whole(
    fault_site: FaultSite, tmp_path: Path
) -> None:
    db_path = tmp_path / "crash.db"
    db_url = f"sqlite:///{db_path}"
    settings = ("-a", f"start_urls={fault_site.url}/pace/crash/",
                "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "NEWS_STORE_BATCH_SIZE=1")
    args = [sys.executable, "-m", "scrapy", "crawl", "news", "-s", f"DATABASE_URL={db_url}",
            "-s", "ALLOW_PRIVATE_NETWORKS=True", *FAST, *settings]
    killed_at = kill_after_some_stories(args, db_path)
    assert KILL_AFTER_STORIES <= killed_at < PACE_STORIES

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = conn.execute(
            "SELECT s.id, s.url, s.title, s.text, count(u.id) FROM stories s "
            "LEFT JOIN story_urls u ON u.story_id = s.id GROUP BY s.id"
        ).fetchall()
    assert len(rows) >= killed_at
    before = {}
    for _id, url, title, text, url_rows in rows:
        assert url.startswith(f"{fault_site.url}/pace/crash/story-")
        assert title
        assert len(text) > 200
        assert url_rows >= 1
        before[url] = (title, text)

    crawl(db_url, *settings)
    stories = export(db_url)
    expected = {story_title(f"crash-story-{n:02d}-of-the-paced-site")
                for n in range(1, PACE_STORIES + 1)}
    titles = Counter(s["title"] for s in stories)
    assert set(titles) == expected
    assert all(count == 1 for count in titles.values())
    after = {s["url"]: (s["title"], s["text"]) for s in stories}
    for url, story in before.items():
        assert after[url] == story
