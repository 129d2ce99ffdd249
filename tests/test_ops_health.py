"""Exit status and health of real crawls: failed (1), degraded (3), and what `scrapy runs`
shows; a failed or degraded run never loses what was stored before."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawling import FAST, FULL_DISK_BYTES, REPO_ROOT, export, on_full_disk, scrapy
from tests.servers import free_port
from tests.sites.growing import GrowingSite, serve_growing, sources_file, story_slug


class Site:
    """A growing site, its sources file and a database holding its first crawl."""

    def __init__(self, site: GrowingSite, url: str, tmp_path: Path,
                 db_url: str | None = None) -> None:
        self.site = site
        self.url = url
        self.db_url = db_url or f"sqlite:///{tmp_path / 'news.db'}"
        self.sources = sources_file(tmp_path / "sources.yaml", url)
        first = self.crawl()
        assert first.returncode == 0, first.stderr[-3000:]
        self.stories = export(self.db_url)
        assert len(self.stories) == site.count

    def crawl(self, *args: str) -> object:
        """`scrapy crawl news` of the site into the database."""
        return scrapy("crawl", "news", "-s", f"DATABASE_URL={self.db_url}",
                      "-s", f"NEWS_SOURCES_FILE={self.sources}", *FAST, *args)

    def assert_kept(self) -> None:
        """Every story stored by the first crawl is still there, unchanged."""
        now = {s["url"]: s for s in export(self.db_url)}
        assert all(now[s["url"]] == s for s in self.stories)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serve_growing(tmp_path / "site", 3) as (growing, url):
        yield Site(growing, url, tmp_path)


def verdicts(stderr: str) -> list[str]:
    """The verdict lines of a crawl's log, without their timestamps."""
    return [line.split("] ERROR: ", 1)[1] for line in stderr.splitlines()
            if "[crawler.monitors] ERROR: " in line]


def test_a_crawl_that_fetches_nothing_fails(site: Site) -> None:
    dead = f"http://127.0.0.1:{free_port()}/"
    # ROBOTSTXT_OBEY off: Scrapy's robots.txt middleware logs its own traceback for a refused
    # connection; the rest of the crawl reports one line per failed page.
    result = scrapy("crawl", "news", "-a", f"start_urls={dead}", "-s", "RETRY_TIMES=0",
                    "-s", "ROBOTSTXT_OBEY=False",
                    "-s", f"DATABASE_URL={site.db_url}", "-s", "ALLOW_PRIVATE_NETWORKS=True",
                    *FAST)
    assert result.returncode == 1, result.stderr[-3000:]
    assert verdicts(result.stderr)[0] == "Run FAILED: nothing fetched (2 failed requests)"
    assert "Traceback" not in result.stderr
    site.assert_kept()


def test_an_error_burst_is_degraded_and_shown_by_runs(site: Site) -> None:
    index = site.site.folder / "index.html"
    missing = "".join(f'<li><a href="/news/removed-story-{n}.html">gone</a></li>'
                      for n in range(8))
    index.write_text(index.read_text().replace("</ul>", missing + "</ul>"))
    result = site.crawl()
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Run DEGRADED: error rate 73% over 50% (8 of 11)" in verdicts(result.stderr)
    assert "Traceback" not in result.stderr
    # Spidermon's report (about 50 lines, its failures again at length) and the deprecation
    # warning of the Spider.log it calls stay out of an INFO log.
    assert "[Spidermon]" not in result.stderr
    assert "Warning" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if "removed-story-" in line
              and "Failed" in line]
    assert len(failed) == 8
    assert all("HttpError (HTTP 404): " in line for line in failed)
    table = scrapy("runs", "-s", f"DATABASE_URL={site.db_url}")
    assert table.returncode == 0, table.stderr
    newest = table.stdout.splitlines()[2]
    assert "DEGRADED: error burst: 8 of 10 requests failed" in newest
    site.assert_kept()


def test_a_few_failed_pages_are_no_error_burst(site: Site) -> None:
    """A run that fetches the home page and 3 missing pages again (3 failures of 5 requests)
    stays under NEWS_HEALTH_MIN_ERRORS (5 failures): it is healthy; the same run with the
    floor at 1 is degraded."""
    index = site.site.folder / "index.html"
    missing = "".join(f'<li><a href="/news/removed-story-{n}.html">gone</a></li>'
                      for n in range(3))
    index.write_text(index.read_text().replace("</ul>", missing + "</ul>"))
    assert site.crawl().returncode == 0
    again = site.crawl()
    assert again.returncode == 0, again.stderr[-3000:]
    assert sum("removed-story-" in line and "Failed" in line
               for line in again.stderr.splitlines()) == 3
    strict = site.crawl("-s", "NEWS_HEALTH_MIN_ERRORS=1")
    assert strict.returncode == 3, strict.stderr[-3000:]
    assert "Run DEGRADED: town: error burst: 3 of 5 requests failed" in verdicts(strict.stderr)
    site.assert_kept()


def drop_dates(folder: Path) -> None:
    """A redesign: every article page loses its publication date (meta tag and JSON-LD)."""
    for page in (folder / "news").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        undated = re.sub(r'<meta property="article:published_time"[^>]*>\n|"datePublished": '
                         r'"[^"]*", ', "", text)
        assert undated != text
        page.write_text(undated, encoding="utf-8")


def test_a_redesign_that_drops_dates_is_degraded_and_named(site: Site) -> None:
    site.site.add(3)
    drop_dates(site.site.folder)
    result = site.crawl("-s", "NEWS_HEALTH_MIN_RUNS=1")
    assert result.returncode == 3, result.stderr[-3000:]
    assert verdicts(result.stderr) == [
        "Run DEGRADED: town: published_at filled in 0% against a median of 100%"]
    assert ("Source town looks degraded (site redesign?): published_at filled in 0% against "
            "a median of 100%") in result.stderr
    table = scrapy("runs", "-s", f"DATABASE_URL={site.db_url}")
    assert table.returncode == 0, table.stderr
    newest, first = table.stdout.splitlines()[2:4]
    assert newest.split()[2] == "town"
    assert newest.endswith("DEGRADED: published_at filled in 0% against a median of 100%")
    assert first.endswith(" ok")
    site.assert_kept()


def test_a_redesign_that_leaves_a_teaser_is_degraded_and_named(site: Site) -> None:
    site.site.add(9)
    for number in range(4, 13):
        page = site.site.folder / "news" / f"{story_slug(number)}.html"
        first, *rest = re.findall(r"<p>.*?</p>\n", page.read_text(encoding="utf-8"))
        page.write_text(page.read_text(encoding="utf-8").replace("".join(rest), ""),
                        encoding="utf-8")
    result = site.crawl("-s", "NEWS_HEALTH_MIN_RUNS=1")
    assert result.returncode == 3, result.stderr[-3000:]
    (verdict,) = verdicts(result.stderr)
    lengths = re.fullmatch(r"Run DEGRADED: town: body length (\d+) characters against a "
                           r"median of (\d+)", verdict)
    assert lengths, verdict
    table = scrapy("runs", "-s", f"DATABASE_URL={site.db_url}")
    newest, first = table.stdout.splitlines()[2:4]
    assert newest.endswith(f"DEGRADED: body length {lengths[1]} characters against a median "
                           f"of {lengths[2]}")
    assert newest.split()[-11] == lengths[1]
    assert first.split()[-2:] == [lengths[2], "ok"]
    site.assert_kept()


def test_a_stopped_crawl_is_not_healthy(site: Site) -> None:
    result = site.crawl("-s", "CLOSESPIDER_PAGECOUNT=1", "-s", "LOG_LEVEL=DEBUG")
    assert result.returncode == 1, result.stderr[-3000:]
    assert ("Run FAILED: the run did not finish (reason: closespider_pagecount)"
            in verdicts(result.stderr))
    assert "[news] DEBUG: [Spidermon] failed/the run finished... FAIL" in result.stderr
    assert "Warning" not in result.stderr
    site.assert_kept()


def test_progress_lines_and_summary_table(site: Site) -> None:
    site.site.add(4)
    result = site.crawl("-s", "NEWS_PROGRESS_INTERVAL=0.2", "-s", "CONCURRENT_REQUESTS=1",
                        "-s", "DOWNLOAD_DELAY=0.15")
    assert result.returncode == 0, result.stderr[-3000:]
    progress = [line for line in result.stderr.splitlines() if "] INFO: Progress town: " in line]
    assert progress
    assert all(re.search(r"Progress town: \d+ pages \(\d+\.\d/s\), \d+ stories "
                         r"\(\d+ new\), \d+ errors$", line) for line in progress)
    lines = result.stderr.splitlines()
    (start,) = [n for n, line in enumerate(lines) if "INFO: Crawl finished after " in line]
    assert lines[start + 1].split() == ["source", "pages", "pages/s", "new", "updated",
                                        "duplicate", "errors"]
    row = lines[start + 3].split()
    assert row[0] == "town"
    assert row[3:] == ["4", "0", "0", "0"]


def test_a_full_disk_stops_the_crawl_in_one_line_and_keeps_the_stories(site: Site) -> None:
    site.site.add(12)
    result = on_full_disk("crawl", "news", "-s", f"DATABASE_URL={site.db_url}",
                          "-s", f"NEWS_SOURCES_FILE={site.sources}", *FAST,
                          "-s", "NEWS_STORE_BATCH_SIZE=1")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    (verdict,) = verdicts(result.stderr)
    lost = re.fullmatch(r"Run FAILED: the database cannot be written \(disk I/O error\): "
                        r"(\d+) stories not stored", verdict)
    assert lost, verdict
    assert 1 <= int(lost[1]) <= 12
    assert "Could not store" not in result.stderr
    assert result.stderr.count("The database cannot be written (disk I/O error): stopping "
                               "the crawl") == 1
    assert "'finish_reason': 'database_unwritable'" in result.stderr
    site.assert_kept()
    assert len(export(site.db_url)) == 3
    assert site.crawl().returncode == 0
    assert len(export(site.db_url)) == 15


# A real full disk: a small tmpfs mounted in a user and mount namespace of the crawl's own
# (no root needed where unprivileged user namespaces are allowed), holding a copy of the
# database, filled up to 40 KiB of free space (room for SQLite's 32 KiB shared-memory file,
# not for a story). The database files are copied out after the crawl, to read them back.
FULL_TMPFS = """set -e
mount -t tmpfs -o size=4m tmpfs "$DISK"
cp "$DB" "$DISK/news.db"
free=$(df -k --output=avail "$DISK" | tail -n 1)
head -c $(( (free - 40) * 1024 )) /dev/zero > "$DISK/filler"
set +e
"$@"
status=$?
cp "$DISK"/news.db* "$OUT"/
exit $status
"""


def test_a_full_tmpfs_stops_the_crawl_in_one_line_and_keeps_the_stories(
        site: Site, tmp_path: Path) -> None:
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) here; the file size limit test covers a full disk")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "mount", "-t",
                            "tmpfs", "tmpfs", str(disk)], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no tmpfs in a user namespace here (unshare or mount refused: "
                    f"{probe.stderr.decode().strip()}); the file size limit test covers it")
    site.site.add(12)
    environment = {**os.environ, "DISK": str(disk), "DB": str(site.db_url.removeprefix(
        "sqlite:///")), "OUT": str(out)}
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", FULL_TMPFS, "sh",
         sys.executable, "-m", "scrapy", "crawl", "news",
         "-s", f"DATABASE_URL=sqlite:///{disk / 'news.db'}",
         "-s", f"NEWS_SOURCES_FILE={site.sources}", *FAST, "-s", "NEWS_STORE_BATCH_SIZE=1"],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300,
        check=False)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    (verdict,) = verdicts(result.stderr)
    assert re.fullmatch(r"Run FAILED: the database cannot be written \(database or disk is "
                        r"full\): \d+ stories not stored", verdict), verdict
    assert "Could not store" not in result.stderr
    assert "'finish_reason': 'database_unwritable'" in result.stderr
    kept = {s["url"]: s for s in export(f"sqlite:///{out / 'news.db'}")}
    assert all(kept[s["url"]] == s for s in site.stories)
    assert len(kept) == 3


def test_an_export_to_a_full_disk_fails_in_one_line_and_keeps_the_old_file(
        site: Site, tmp_path: Path) -> None:
    site.site.add(12)
    assert site.crawl().returncode == 0
    stories = export(site.db_url)
    assert len("".join(json.dumps(s) for s in stories)) > FULL_DISK_BYTES
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "stories.jsonl"
    target.write_text("old\n")
    result = on_full_disk("export", "-o", str(target), "-s", f"DATABASE_URL={site.db_url}")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"scrapy: export failed: cannot write {target}: File too large (the old file is "
        "unchanged)"]
    assert target.read_text() == "old\n"
    assert [p.name for p in folder.iterdir()] == ["stories.jsonl"]
    assert export(site.db_url) == stories
