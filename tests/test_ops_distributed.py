"""Distributed crawling: two crawler processes share one Redis frontier and one database."""

from __future__ import annotations

import subprocess
from collections import Counter

import redis

from tests.crawling import REPO_ROOT, export, log_size, requests_since
from tests.servers import new_postgres_database
from tests.sites.server import SampleSites
from tests.test_ops_crawl import STORIES, crawl_command


def test_two_processes_share_one_frontier(sample_sites: SampleSites, postgres_url: str,
                                          redis_url: str) -> None:
    db_url = new_postgres_database(postgres_url)
    argv = crawl_command(sample_sites, db_url, "-s", f"REDIS_URL={redis_url}",
                         "-s", "NEWS_REDIS_FRONTIER=test-run-1",
                         "-s", "SCHEDULER_IDLE_BEFORE_CLOSE=1")
    offset = log_size(sample_sites)
    procs = [subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for e in errors]
    assert all("scrapy_redis.scheduler.Scheduler" in e for e in errors)
    # Each process's robots.txt middleware fetches robots.txt for itself, outside the frontier.
    fetched = Counter(tuple(line.split()[1:4]) for line in requests_since(sample_sites, offset)
                      if " /robots.txt " not in line)
    assert fetched, "the crawlers fetched nothing"
    assert [r for r, n in fetched.items() if n > 1] == []
    stories = export(db_url)
    titles = Counter(s["title"] for s in stories)
    assert len(stories) == STORIES, titles
    assert set(titles.values()) == {1}
    client = redis.Redis.from_url(redis_url)
    assert client.scard("newsagg:test-run-1:dupefilter") > len(fetched) // 2
