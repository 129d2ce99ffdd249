"""Operations with real crawls: concurrent crawls, the source lock, JOBDIR after SIGKILL, health."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from scrapy import Request
from scrapy.utils.request import fingerprint

from crawler.commands._lock import lock_file_name, start_urls_lock_name
from storage.migrate import upgrade_database
from storage.models import CrawlRun
from storage.runs import KILLED, OK, last_runs, run_status
from storage.session import make_engine, make_sessionmaker
from tests.crawling import (
    FAST,
    REPO_ROOT,
    crawl,
    crawl_sites,
    export,
    log_size,
    requests_since,
    scrapy,
)
from tests.sites.server import SampleSites

STORIES = 9  # stories in the sample universe's aggregator and gazette
ARTICLE_PAGES = 13  # article pages a full crawl of them stores (copies and aliases included)
SLOW = ("-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=0.2")


def crawl_command(sites: SampleSites, db_url: str, *args: str) -> list[str]:
    """The argv of a crawl of the aggregator and the gazette."""
    start = f"{sites.urls['vietnam']}/,{sites.urls['gazette']}/"
    return [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={start}",
            "-s", f"DATABASE_URL={db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True", *FAST, *args]


def runs_of(db_url: str) -> list[CrawlRun]:
    """The run records of a database, newest first."""
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        runs = last_runs(session, limit=100)
    engine.dispose()
    return runs


def request_of(sites: SampleSites, log_line: str) -> Request:
    """The request a `REQ <site> <method> <path> <status>` log line records."""
    _, site, method, path, _status = log_line.split()
    return Request(sites.urls[site] + path, method=method)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll until a condition holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_crawls_at_once(sample_sites: SampleSites, database_url: str) -> None:
    argv = crawl_command(sample_sites, database_url, "-s", "NEWS_LOCK_DIR=")
    upgrade_database(make_engine(database_url))
    procs = [subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for e in errors]
    assert not [e for e in errors if "Traceback" in e], [e[-2000:] for e in errors]
    stories = export(database_url)
    titles = Counter(s["title"] for s in stories)
    assert len(stories) == STORIES, titles
    assert set(titles.values()) == {1}
    seen = Counter(url for s in stories for url in s["seen_urls"])
    assert set(seen.values()) == {1}
    runs = runs_of(database_url)
    assert len(runs) == 2
    assert sum(r.stories_new for r in runs) == STORIES


def test_a_second_run_of_a_source_is_refused(sample_sites: SampleSites, tmp_path: Path) -> None:
    db_url, locks = f"sqlite:///{tmp_path / 'news.db'}", tmp_path / "locks"
    argv = crawl_command(sample_sites, db_url, "-s", f"NEWS_LOCK_DIR={locks}", *SLOW)
    urls = [f"{sample_sites.urls['vietnam']}/", f"{sample_sites.urls['gazette']}/"]
    lock = locks / lock_file_name(start_urls_lock_name(urls))
    first = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)

    def locked() -> bool:
        if not lock.exists():
            return False
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    wait_for(locked, "the first crawl to take the lock")
    first.send_signal(signal.SIGSTOP)  # it holds the lock until the second run was refused
    try:
        second = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=120, check=False)
    finally:
        first.send_signal(signal.SIGCONT)
    first_err = first.communicate(timeout=300)[1]
    assert first.returncode == 0, first_err[-2000:]
    assert second.returncode == 1, second.stderr[-2000:]
    refusals = [line for line in second.stderr.splitlines() if "holds the lock" in line]
    assert refusals == [f"scrapy: another run of source {start_urls_lock_name(urls)} holds "
                        f"the lock {lock}: not crawling"]
    assert "Traceback" not in second.stderr
    assert "finish_reason" not in second.stderr  # refused before the crawl was built
    assert "'finish_reason': 'finished'" in first_err
    assert len(export(db_url)) == STORIES
    assert [r.finish_reason for r in runs_of(db_url)] == ["finished"]


def test_killed_crawl_resumes_from_its_jobdir(sample_sites: SampleSites, tmp_path: Path) -> None:
    db_url, jobdir = f"sqlite:///{tmp_path / 'news.db'}", tmp_path / "job"
    argv = crawl_command(sample_sites, db_url, "-s", f"JOBDIR={jobdir}", *SLOW)
    journal = jobdir / "stored.seen"
    first = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    wait_for(lambda: journal.exists() and len(journal.read_text().splitlines()) >= 3,
             "three stored articles")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    journaled = set(journal.read_text().split())
    assert len(journaled) < ARTICLE_PAGES, "the crawl finished before it was killed"
    stored_before = len(export(db_url))  # every story may be in: the pages left can be copies
    offset = log_size(sample_sites)
    resumed = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "the last run did not stop cleanly" in resumed.stderr
    stories = export(db_url)
    titles = Counter(s["title"] for s in stories)
    assert len(stories) == STORIES, titles
    assert set(titles.values()) == {1}
    # A stored original is fetched again only to verify the credit of a copy that was not
    # stored before the kill (the copy's credit is judged against the original's text).
    def journaled_url(url: str) -> bool:
        return fingerprint(Request(url)).hex() in journaled

    recheck = {s["original_url"] for s in stories if s["original_url"] and not all(
        journaled_url(url) for url in s["seen_urls"] if url != s["original_url"])}
    refetched = [line for line in requests_since(sample_sites, offset)
                 if journaled_url(request_of(sample_sites, line).url)
                 and request_of(sample_sites, line).url not in recheck]
    assert not refetched, "articles stored before the kill were fetched again"
    run, killed = runs_of(db_url)
    assert run.stories_new == STORIES - stored_before
    assert (run_status(run), run_status(killed)) == (OK, KILLED)
    seed = [s for s in stories if s["original_url"]]
    assert seed, "the aggregator copy's credited original was not followed after the resume"
    assert all(s["url"] == s["original_url"] and s["original_url"] in s["seen_urls"]
               for s in seed)


def test_a_sharp_drop_marks_the_run_degraded(sample_sites: SampleSites, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'news.db'}"
    engine = make_engine(db_url)
    upgrade_database(engine)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with make_sessionmaker(engine).begin() as session:
        for day in range(3):
            session.add(CrawlRun(
                source="start_urls", hostname="earlier", started_at=start + dt.timedelta(day),
                finished_at=start + dt.timedelta(day, 60), finish_reason="finished",
                pages_fetched=120, stories_new=40, stories_updated=0, stories_duplicate=0,
                not_articles=30, errors={},
                fill_rates={"title": 1, "body": 1, "authors": 1, "published_at": 1,
                            "language": 1}))
    engine.dispose()
    result = scrapy("crawl", "news", "-a", f"start_urls={sample_sites.urls['gazette']}/",
                    "-s", f"DATABASE_URL={db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True", *FAST)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Run DEGRADED: start_urls: 7 articles stored against a median of 40" in result.stderr
    assert ("Source start_urls looks degraded (site redesign?): 7 articles stored against a "
            "median of 40") in result.stderr
    table = scrapy("runs", "-s", f"DATABASE_URL={db_url}", "--limit", "2")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("started (UTC)")
    assert "DEGRADED: 7 articles stored against a median of 40" in lines[2]
    assert "ok" in lines[3]
    assert "2 runs, 1 degraded" in table.stdout
    assert "earlier" not in scrapy("runs", "-s", f"DATABASE_URL={db_url}",
                                   "--source", "nope").stdout


def test_run_record_counts(sample_sites: SampleSites, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'news.db'}"
    result = crawl_sites(sample_sites, db_url)
    (run,) = runs_of(db_url)
    assert run.source == "start_urls"
    assert run.finish_reason == "finished"
    assert run.stories_new == STORIES
    assert run.stories_new + run.stories_updated + run.stories_duplicate == ARTICLE_PAGES
    assert run.pages_fetched > ARTICLE_PAGES + run.not_articles - 1
    assert run.not_articles > 0
    assert run.errors.get("HttpError", 0) > 0
    # One of the 13 article pages names only its outlet as author, which is not a person.
    body_chars = run.fill_rates.pop("body_chars")
    assert run.fill_rates == {"title": 1.0, "body": 1.0, "authors": round(12 / 13, 3),
                              "published_at": 1.0, "language": 1.0}
    lengths = [len(str(story["text"])) for story in export(db_url)]
    assert min(lengths) <= body_chars <= max(lengths)
    assert run.started_at <= run.finished_at
    for key in ("news/store/new/start_urls", "news/fetch/pages/start_urls",
                "news/spider/listing_pages/start_urls", "news/errors/HttpError/start_urls"):
        assert f"'{key}'" in result.stderr, key


def test_a_source_that_does_not_follow_credits(sample_sites: SampleSites, tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: vietnam\n    start_urls: ['{sample_sites.urls['vietnam']}/']\n"
        "    options: {follow_credits: 'false'}\n", encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'news.db'}"
    offset = log_size(sample_sites)
    crawl(db_url, "-s", f"NEWS_SOURCES_FILE={sources}")
    requests = requests_since(sample_sites, offset)
    assert any(line.split()[1] == "vietnam" for line in requests)
    assert not [line for line in requests if line.split()[1] == "daidoanket"]
    assert export(db_url)
