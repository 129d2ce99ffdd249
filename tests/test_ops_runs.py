"""Run records of real crawls stopped by real signals: a SIGTERM'd run is recorded as
interrupted (not degraded, not judged), a SIGKILLed one stays unfinished and shows as killed;
neither makes the source unhealthy nor lowers the baseline of the next run."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.monitors import EXIT_INTERRUPTED
from storage.migrate import upgrade_database
from storage.models import CrawlRun
from storage.runs import INTERRUPTED, KILLED, OK, RUNNING, last_runs, run_status
from storage.session import make_engine, make_sessionmaker
from storage.web.queries import source_health
from tests.crawling import FAST, REPO_ROOT, scrapy
from tests.sites.growing import serve_growing, sources_file
from tests.test_ops_crawl import wait_for

STORIES = 24
HISTORY = 10
PACED = ("-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=0.15",
         "-s", "NEWS_STORE_BATCH_SIZE=1")


class Runs:
    """Crawls of the growing site (source `town`) into a database with three healthy runs of
    HISTORY stories each on record."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.db_path = tmp_path / "news.db"
        self.db_url = f"sqlite:///{self.db_path}"
        sources = sources_file(tmp_path / "sources.yaml", url)
        self.argv = ["crawl", "news", "-a", "source=town", "-s", f"DATABASE_URL={self.db_url}",
                     "-s", f"NEWS_SOURCES_FILE={sources}",
                     "-s", f"NEWS_LOCK_DIR={tmp_path / 'locks'}",
                     "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_WORKERS=0", *FAST, *PACED]
        engine = make_engine(self.db_url)
        upgrade_database(engine)
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        with make_sessionmaker(engine).begin() as session:
            session.add_all(CrawlRun(
                source="town", hostname="earlier", started_at=start + dt.timedelta(day),
                finished_at=start + dt.timedelta(day, 60), finish_reason="finished",
                pages_fetched=HISTORY + 1, stories_new=HISTORY, stories_updated=0,
                stories_duplicate=0, not_articles=1, errors={}, fill_rates={})
                for day in range(3))
        engine.dispose()

    def stored(self) -> int:
        """Stories committed so far, read without writing."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])

    def runs(self) -> list[CrawlRun]:
        """The run records, newest first."""
        engine = make_engine(self.db_url)
        with make_sessionmaker(engine)() as session:
            runs = last_runs(session, source="town", limit=100)
        engine.dispose()
        return runs

    def signalled(self, signum: int) -> tuple[subprocess.Popen[str], str]:
        """A crawl sent `signum` once it stored two more stories; it and its log.

        While it runs, its record already exists, unfinished, and its status is `running`."""
        before = self.stored()
        log_path = self.db_path.parent / f"crawl-{signum}.log"
        with log_path.open("w+") as log:
            proc = subprocess.Popen([sys.executable, "-m", "scrapy", *self.argv], cwd=REPO_ROOT,
                                    stdout=subprocess.DEVNULL, stderr=log, text=True)
            try:
                wait_for(lambda: self.stored() >= before + 2 or proc.poll() is not None,
                         "two more stored stories")
                newest = self.runs()[0]
                status = run_status(newest)
                assert proc.poll() is None, "the crawl ended before it could be signalled"
                assert (newest.pid, newest.finished_at, status) == (proc.pid, None, RUNNING)
                os.kill(proc.pid, signum)
            finally:
                proc.wait(timeout=120)
            log.seek(0)
            return proc, log.read()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    with serve_growing(tmp_path / "site", STORIES) as (_site, url):
        yield Runs(url, tmp_path)


def health(db_url: str) -> dict[str, object]:
    """The API's health entry of source `town`."""
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        (town,) = [s for s in source_health(session) if s["source"] == "town"]
    engine.dispose()
    return town


def test_interrupted_and_killed_runs_show_as_such_and_keep_the_source_healthy(
        runs: Runs) -> None:
    proc, stderr = runs.signalled(signal.SIGTERM)
    assert proc.returncode == EXIT_INTERRUPTED, stderr[-3000:]
    assert re.search(r"Run of town: \d+ pages, \d+ new, \d+ updated, \d+ duplicate "
                     r"\(INTERRUPTED\)", stderr), stderr[-3000:]
    assert "looks degraded" not in stderr
    interrupted = runs.runs()[0]
    assert (interrupted.finish_reason, interrupted.degraded, interrupted.health_note) == (
        "shutdown", False, None)
    assert 2 <= interrupted.stories_new < HISTORY
    assert run_status(interrupted) == INTERRUPTED
    assert health(runs.db_url)["healthy"] is True

    proc, stderr = runs.signalled(signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    killed = runs.runs()[0]
    assert (killed.pid, killed.finished_at, killed.finish_reason) == (proc.pid, None, None)
    assert run_status(killed) == KILLED
    town = health(runs.db_url)
    assert town["healthy"] is True
    assert town["last_run"]["status"] == KILLED  # type: ignore[index]

    table = scrapy("runs", "-s", f"DATABASE_URL={runs.db_url}", "--limit", "3")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[2].endswith(f"KILLED: never finished (process {proc.pid} is gone)"), lines
    assert lines[3].endswith("INTERRUPTED: stopped by a signal"), lines
    assert lines[4].endswith("ok"), lines
    assert lines[-1] == "3 runs, 0 degraded, 1 interrupted, 1 killed"

    # The next run is judged against the three full runs only: it stores the rest, healthy.
    result = scrapy(*runs.argv)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(OK)" in result.stderr, result.stderr[-3000:]
    assert runs.stored() == STORIES
    assert [run_status(r) for r in runs.runs()] == [OK, KILLED, INTERRUPTED, OK, OK, OK]
