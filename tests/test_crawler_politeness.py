"""The politeness contract as loopback hosts with 50-150 ms latency measure it.

Each test runs a real `scrapy crawl` against `tests.sites.latency` hosts, waits for the crawl
to end, then reads the hosts' own arrival log (kernel receive times): gaps between a host's
requests, its open requests, the paths it served. Nothing here times the crawler.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, STARTUP_TIMEOUT, _read_first_line
from tests.crawling import export, scrapy
from tests.servers import stop_server
from tests.sites.latency import arrivals

ARTICLES = 8


class Hosts:
    """Running latency hosts: their URLs by name and their arrival log."""

    def __init__(self, urls: dict[str, str], log: Path) -> None:
        self.urls = urls
        self.log = log

    def requests(self) -> dict[str, list[tuple[float, int, str]]]:
        """Per host, (arrival time, open requests then, path) in arrival order."""
        return arrivals(self.log)

    def host(self, name: str) -> list[tuple[float, int, str]]:
        """One host's requests."""
        return self.requests()[name]


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    """Three fresh latency hosts with ARTICLES articles each."""
    log = tmp_path / "arrivals.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sites.latency", "--hosts", "3",
         "--articles", str(ARTICLES), "--log", str(log)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = _read_first_line(proc, STARTUP_TIMEOUT)
        assert line, "tests.sites.latency did not start"
        yield Hosts(json.loads(line), log)
    finally:
        stop_server(proc)


def crawl(tmp_path: Path, *args: str) -> str:
    """`scrapy crawl news` at the shipped politeness settings; returns the database URL."""
    db_url = f"sqlite:///{tmp_path / 'polite.db'}"
    result = scrapy("crawl", "news", "-s", f"DATABASE_URL={db_url}",
                    "-s", "ALLOW_PRIVATE_NETWORKS=True",
                    "-s", f"NEWS_LOCK_DIR={tmp_path / 'locks'}", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return db_url


def gaps(requests: list[tuple[float, int, str]]) -> list[float]:
    """Seconds between consecutive arrivals."""
    return [b[0] - a[0] for a, b in zip(requests, requests[1:], strict=False)]


def test_shipped_settings_hold_delay_cap_and_robots_at_every_host(
    hosts: Hosts, tmp_path: Path,
) -> None:
    start = ",".join(f"{url}/" for url in hosts.urls.values())
    db_url = crawl(tmp_path, "-a", f"start_urls={start}")
    assert len(export(db_url)) == 3 * ARTICLES
    served = hosts.requests()
    assert sorted(served) == sorted(hosts.urls)
    for requests in served.values():
        assert requests[0][2] == "/robots.txt"
        assert min(gaps(requests)) >= 0.25
        assert max(open_now for _, open_now, _ in requests) <= 2
        assert not [path for _, _, path in requests if path.startswith("/private/")]
        assert len({path for _, _, path in requests if path.startswith("/news/")}) == ARTICLES


def test_a_sources_delay_and_concurrency_override_the_defaults(
    hosts: Hosts, tmp_path: Path,
) -> None:
    slow, default = hosts.urls["h001"], hosts.urls["h002"]
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - name: slow\n    start_urls: ['{slow}/']\n"
        "    options: {download_delay: 0.6, concurrency: 1}\n"
        f"  - name: default\n    start_urls: ['{default}/']\n",
        encoding="utf-8")
    db_url = crawl(tmp_path, "-s", f"NEWS_SOURCES_FILE={sources}")
    assert len(export(db_url)) == 2 * ARTICLES
    slow_requests, default_requests = hosts.host("h001"), hosts.host("h002")
    assert min(gaps(slow_requests)) >= 0.6
    assert max(open_now for _, open_now, _ in slow_requests) == 1
    assert min(gaps(default_requests)) >= 0.25


def test_with_no_delay_the_cap_still_holds(hosts: Hosts, tmp_path: Path) -> None:
    start = ",".join(f"{url}/" for url in hosts.urls.values())
    db_url = crawl(tmp_path, "-a", f"start_urls={start}", "-s", "DOWNLOAD_DELAY=0",
                   "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    assert len(export(db_url)) == 3 * ARTICLES
    for requests in hosts.requests().values():
        assert max(open_now for _, open_now, _ in requests) == 1


def test_extraction_backlog_holds_fetching_and_the_crawl_says_so(
    hosts: Hosts, tmp_path: Path,
) -> None:
    start = ",".join(f"{url}/" for url in hosts.urls.values())
    db_url = f"sqlite:///{tmp_path / 'paced.db'}"
    result = scrapy("crawl", "news", "-a", f"start_urls={start}", "-s", f"DATABASE_URL={db_url}",
                    "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", f"NEWS_LOCK_DIR={tmp_path}",
                    "-s", "NEWS_EXTRACTION_BACKLOG_BYTES=1", "-s", "NEWS_PACING_INTERVAL=0.5")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(export(db_url)) == 3 * ARTICLES
    pacing = [line for line in result.stderr.splitlines() if "pacing: " in line]
    assert pacing
    assert any("held for extraction 0%" not in line for line in pacing)
