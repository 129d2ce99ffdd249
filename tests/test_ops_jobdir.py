"""One JOBDIR reused by scheduled runs: fresh after a finished run, resumed after TERM or KILL,
recovered from stale or truncated files; every run finishes and nothing stored is lost."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawler.monitors import EXIT_INTERRUPTED
from tests.crawling import FAST, REPO_ROOT, export
from tests.sites.growing import GrowingSite, serve_growing, sources_file
from tests.test_ops_crawl import wait_for

STORIES = 24
PACED = ("-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=0.15",
         "-s", "NEWS_STORE_BATCH_SIZE=1")


class Job:
    """Crawls of the growing site into one database with one JOBDIR."""

    def __init__(self, site: GrowingSite, url: str, tmp_path: Path) -> None:
        self.site = site
        self.db_path = tmp_path / "news.db"
        self.jobdir = tmp_path / "job"
        sources = sources_file(tmp_path / "sources.yaml", url)
        self.argv = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", "source=town",
                     "-s", f"DATABASE_URL=sqlite:///{self.db_path}",
                     "-s", f"NEWS_SOURCES_FILE={sources}", "-s", f"JOBDIR={self.jobdir}",
                     "-s", f"NEWS_LOCK_DIR={tmp_path / 'locks'}",
                     "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_WORKERS=0", *FAST]

    def stored_titles(self) -> set[str]:
        """Titles committed so far, read without writing."""
        if not self.db_path.exists():
            return set()
        try:
            with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5) as conn:
                return {row[0] for row in conn.execute("SELECT title FROM stories")}
        except sqlite3.OperationalError:
            return set()

    def state(self) -> str:
        """The state the last run left in the JOBDIR."""
        return str(json.loads((self.jobdir / "run.json").read_text())["state"])

    def interrupt(self, signum: int) -> set[str]:
        """Start a run, send it a signal once it stored two more stories; what is stored.

        SIGTERM: the run stops cleanly and exits EXIT_INTERRUPTED with one warning line.
        """
        before = len(self.stored_titles())
        with (self.jobdir.parent / "interrupted.log").open("w+") as log:
            proc = subprocess.Popen([*self.argv, *PACED], cwd=REPO_ROOT,
                                    stdout=subprocess.DEVNULL,
                                    stderr=log)
            try:
                # a guard, not a pace: on a loaded 2-core machine a crawl process once took
                # 54 s to open its spider, past the default 60 s guard
                wait_for(lambda: len(self.stored_titles()) >= before + 2
                         or proc.poll() is not None, "two more stored stories", timeout=180)
                assert proc.poll() is None, "the run ended before it could be interrupted"
                os.kill(proc.pid, signum)
            finally:
                proc.wait(timeout=120)
            log.seek(0)
            stderr = log.read()
        assert len(self.stored_titles()) < STORIES, "the run finished before the signal"
        if signum == signal.SIGTERM:
            assert proc.returncode == EXIT_INTERRUPTED, stderr[-3000:]
            assert "Traceback" not in stderr, stderr[-3000:]
            verdicts = [line.split("] ", 1)[1] for line in stderr.splitlines()
                        if "[crawler.monitors]" in line]
            assert len(verdicts) == 1, verdicts
            assert re.fullmatch(r"WARNING: Run INTERRUPTED: stopped by a signal after \d+ pages; "
                                rf"the next run with JOBDIR {re.escape(str(self.jobdir))} "
                                "resumes it", verdicts[0]), verdicts
        else:
            assert proc.returncode == -signum
        return self.stored_titles()

    def finish(self) -> subprocess.CompletedProcess[str]:
        """A run that must finish cleanly (unpaced: a resumed run may change its settings)."""
        result = subprocess.run(self.argv, cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "'finish_reason': 'finished'" in result.stderr
        return result

    def assert_complete(self, kept: set[str]) -> None:
        """Every story stored once, those stored earlier unchanged; no resumable state left."""
        stories = export(f"sqlite:///{self.db_path}")
        titles = Counter(s["title"] for s in stories)
        assert set(titles) == set(self.site.titles)
        assert set(titles.values()) == {1}
        assert kept <= set(titles)
        assert self.state() == "finished"
        leftovers = {"requests.queue", "requests.seen", "stored.seen"} & {
            p.name for p in self.jobdir.iterdir()}
        assert not leftovers


@pytest.fixture
def job(tmp_path: Path) -> Iterator[Job]:
    with serve_growing(tmp_path / "site", STORIES) as (site, url):
        yield Job(site, url, tmp_path)


@pytest.mark.parametrize("signals", ["TERM", "KILL", "TERM,KILL", "KILL,TERM", "TERM,TERM"])
def test_interrupted_runs_are_resumed_and_finish(job: Job, signals: str) -> None:
    kept: set[str] = set()
    for name in signals.split(","):
        kept |= job.interrupt(getattr(signal, f"SIG{name}"))
        assert job.state() == ("interrupted" if name == "TERM" else "running")
    result = job.finish()
    if signals.endswith("TERM"):
        assert "resuming the interrupted run" in result.stderr
    else:
        assert "the last run did not stop cleanly" in result.stderr
    job.assert_complete(kept)


def truncate_queue(jobdir: Path) -> None:
    """Cut every saved queue file to two bytes."""
    for path in (jobdir / "requests.queue").rglob("*"):
        if path.is_file() and path.name != "active.json":
            path.write_bytes(path.read_bytes()[:2])


def garble_queue(jobdir: Path) -> None:
    """Append junk to every saved queue file (its record sizes no longer add up)."""
    for path in (jobdir / "requests.queue").rglob("*"):
        if path.is_file() and path.name != "active.json":
            path.write_bytes(path.read_bytes() + b"\xff\x00\x00\x10junk")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "active.json not JSON": lambda d: (d / "requests.queue" / "active.json").write_text("[1, "),
    "active.json names missing queues": lambda d: (d / "requests.queue" / "active.json")
    .write_text("[-77, -3]"),
    "queue files truncated": truncate_queue,
    "queue files garbled": garble_queue,
    "run.json torn": lambda d: (d / "run.json").write_text('{"sta'),
    "requests.seen truncated": lambda d: (d / "requests.seen").write_bytes(b"\x00"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_jobdir_never_blocks_the_next_run(job: Job, damage: str) -> None:
    kept = job.interrupt(signal.SIGTERM)
    assert job.state() == "interrupted"
    DAMAGE[damage](job.jobdir)
    job.finish()
    job.assert_complete(kept)


def test_scheduled_runs_are_fresh_and_store_new_stories(job: Job) -> None:
    job.finish()
    job.assert_complete(set())
    job.site.add(3)
    result = job.finish()
    assert "Resuming crawl" not in result.stderr
    assert "'downloader/request_count'" in result.stderr
    job.assert_complete(set())
