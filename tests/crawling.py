"""Helpers for tests that run real `scrapy crawl` and `scrapy export` processes."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.sites.server import SampleSites

REPO_ROOT = Path(__file__).resolve().parent.parent
FAST = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")


def scrapy(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a scrapy command of this project and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )


# A file size limit (RLIMIT_FSIZE) as big as SQLite's shared-memory file: the database opens
# and reads, but its write-ahead log cannot grow past 32 KiB (less than one stored story
# needs, with its index entries), nor an export file. A write past the limit
# fails with EFBIG (Python ignores SIGXFSZ), as a write to a full disk fails with ENOSPC.
FULL_DISK_BYTES = 32768


def file_size_limit(limit: int) -> Callable[[], None]:
    """A preexec_fn that caps the size of any file the child process writes."""
    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_files


def on_full_disk(*args: str) -> subprocess.CompletedProcess[str]:
    """A scrapy command whose file writes fail past FULL_DISK_BYTES."""
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=file_size_limit(FULL_DISK_BYTES))


def crawl(db_url: str, *args: str, private: bool = True) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl news` into a database; fails the test when the crawl fails."""
    extra = ("-s", "ALLOW_PRIVATE_NETWORKS=True") if private else ()
    result = scrapy("crawl", "news", "-s", f"DATABASE_URL={db_url}", *FAST, *extra, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def crawl_sites(sites: SampleSites, db_url: str, *args: str,
                private: bool = True) -> subprocess.CompletedProcess[str]:
    """Crawl the sample universe's configured sources: the aggregator and the gazette."""
    start = f"{sites.urls['vietnam']}/,{sites.urls['gazette']}/"
    return crawl(db_url, "-a", f"start_urls={start}", *args, private=private)


def export(db_url: str, *args: str) -> list[dict[str, object]]:
    """The stories of a database through `scrapy export -o -`."""
    result = scrapy("export", "-o", "-", "-s", f"DATABASE_URL={db_url}", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def requests_since(sites: SampleSites, offset: int) -> list[str]:
    """The server's request log lines written after a byte offset."""
    with sites.log_path.open(encoding="utf-8") as log:
        log.seek(offset)
        return [line.strip() for line in log if line.startswith("REQ ")]


def log_size(sites: SampleSites) -> int:
    """The request log's current size, to read only what a crawl adds."""
    return sites.log_path.stat().st_size
