"""A real crawl of the fault server: errors, stalls, bombs, lies about charsets, private links."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from tests.crawling import crawl, export
from tests.sites.faults import FaultSite
from tests.sites.faults_pages import CHARSET_PAGES, CharsetPage, story_title
from tests.sites.faults_routes import ARTICLES, CREDITS, SITEMAPS, SOUP_PATH

FAULT_SETTINGS = ("-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=1")
FLAKY, ALWAYS_500, MISSING, SLOW, TRICKLE, LOOP, AWAY, RESET, TRUNCATED, BOMB, HUGE, EMPTY, \
    BINARY, TO_FILE = ARTICLES[:14]


class FaultCrawl:
    """One crawl of the fault site with the SSRF guard on: its log, requests and stories."""

    def __init__(self, site: FaultSite, log: str, requests: list[str],
                 stories: list[dict]) -> None:
        self.site = site
        self.log = log
        self.requests = requests
        self.stories = stories

    def fetched(self, path: str) -> list[str]:
        """Statuses the fault host answered for a path, in order."""
        return [r.split()[4] for r in self.requests
                if r.startswith("REQ faults GET ") and r.split()[3] == path]

    def stat(self, key: str) -> int:
        """A counter from the crawl's final stats dump (0 when absent)."""
        found = re.search(rf"'{re.escape(key)}': (\d+)", self.log)
        return int(found.group(1)) if found else 0

    def story_at(self, path: str) -> dict | None:
        """The story seen at a fault-site path, if any."""
        url = self.site.url + path
        found = [s for s in self.stories if url in s["seen_urls"]]
        assert len(found) <= 1
        return found[0] if found else None


def read_requests(log_path: Path, offset: int) -> list[str]:
    """Request log lines written after a byte offset."""
    with log_path.open(encoding="utf-8") as log:
        log.seek(offset)
        return [line.strip() for line in log if line.startswith("REQ ")]


@pytest.fixture(scope="module")
def faults(fault_site: FaultSite, tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('faults') / 'news.db'}"
    offset = fault_site.log_path.stat().st_size
    result = crawl(db_url, "-a", f"start_urls={fault_site.url}/", *FAULT_SETTINGS, private=False)
    return FaultCrawl(fault_site, result.stderr, read_requests(fault_site.log_path, offset),
                      export(db_url))


def test_a_500_then_200_is_retried_and_stored(faults: FaultCrawl) -> None:
    assert faults.fetched(FLAKY) == ["500", "200"]
    story = faults.story_at(FLAKY)
    assert story is not None
    assert story["title"] == story_title("flaky-story-served-after-one-error")


def test_permanent_errors_are_logged_counted_and_not_stored(faults: FaultCrawl) -> None:
    assert faults.fetched(ALWAYS_500) == ["500", "500"]
    assert faults.fetched(MISSING) == ["404"]
    assert faults.stat("news/errors/HttpError") == 3  # with the redirect to file://
    for path in (ALWAYS_500, MISSING):
        assert f"Failed {faults.site.url}{path}: HttpError" in faults.log
        assert faults.story_at(path) is None


def test_timeouts_and_trickling_pages_give_up(faults: FaultCrawl) -> None:
    assert faults.stat("news/errors/DownloadTimeoutError") == 2
    for path in (SLOW, TRICKLE):
        assert f"Failed {faults.site.url}{path}: DownloadTimeoutError" in faults.log
        assert faults.story_at(path) is None


def test_redirect_loop_ends(faults: FaultCrawl) -> None:
    loop_requests = [r for r in faults.requests if "/news/redirect-loop-story-" in r]
    assert 2 <= len(loop_requests) <= 11
    assert not [s for s in faults.stories if any("redirect-loop" in u for u in s["seen_urls"])]


def test_redirect_to_an_unconfigured_private_host_is_blocked(faults: FaultCrawl) -> None:
    assert faults.fetched(AWAY) == ["302"]
    assert f"Blocked {faults.site.urls['elsewhere']}/news/moved-story" in faults.log
    assert not [r for r in faults.requests if r.startswith("REQ elsewhere ")]


def test_a_redirect_to_a_local_file_is_not_followed(faults: FaultCrawl) -> None:
    assert faults.fetched(TO_FILE) == ["302"]
    assert f"Failed {faults.site.url}{TO_FILE}: HttpError" in faults.log
    assert faults.story_at(TO_FILE) is None
    assert not [s for s in faults.stories if "root:" in s["text"]]


def test_connection_resets_and_truncated_bodies_store_nothing(faults: FaultCrawl) -> None:
    assert faults.fetched(RESET) == ["200", "200"]
    assert faults.fetched(TRUNCATED) == ["200", "200"]
    assert faults.stat("news/errors/ResponseDataLossError") == 2
    assert faults.story_at(RESET) is None
    assert faults.story_at(TRUNCATED) is None


def test_gzip_bomb_and_huge_page_stop_at_download_maxsize(faults: FaultCrawl) -> None:
    assert "exceeded DOWNLOAD_MAXSIZE (16777216 B) during decompression" in faults.log
    assert "larger than download warn size (4194304)" in faults.log
    assert "larger than download max size (16777216)" in faults.log
    assert f"Failed {faults.site.url}{HUGE}: DownloadCancelledError" in faults.log
    assert faults.story_at(BOMB) is None
    assert faults.story_at(HUGE) is None


def test_empty_and_binary_bodies_store_nothing(faults: FaultCrawl) -> None:
    assert faults.fetched(EMPTY) == ["200"]
    assert faults.fetched(BINARY) == ["200"]
    assert faults.stat("news/spider/binary_pages") == 1
    assert f"Skipping binary content served as HTML {faults.site.url}{BINARY}" in faults.log
    assert faults.story_at(EMPTY) is None
    assert faults.story_at(BINARY) is None


def test_gzip_bomb_and_junk_sitemaps_are_logged_and_skipped(faults: FaultCrawl) -> None:
    for path in SITEMAPS:
        assert faults.fetched(path) == ["200"]
    assert faults.stat("news/spider/bad_documents") == 3
    assert f"Unreadable document {faults.site.url}{SITEMAPS[0]}" in faults.log
    assert f"Unreadable document {faults.site.url}{SITEMAPS[2]}" in faults.log
    assert f"Document {faults.site.url}{SITEMAPS[1]} is no sitemap, feed or page" in faults.log


def test_pdf_and_image_links_are_not_downloaded(faults: FaultCrawl) -> None:
    assert faults.fetched("/") == ["200"]
    assert faults.fetched("/files/annual-report-2024.pdf") == []
    assert faults.fetched("/images/front-page-photo.jpg") == []


def test_robots_txt_disallow_is_obeyed(faults: FaultCrawl) -> None:
    assert faults.fetched("/robots.txt")
    assert faults.fetched("/private/disallowed-story-behind-robots.html") == []
    assert faults.stat("robotstxt/forbidden") == 1


def test_credits_to_private_addresses_are_not_fetched(faults: FaultCrawl) -> None:
    for page, original in CREDITS.items():
        assert f"Dropped the credit {original} of {faults.site.url}{page}" in faults.log
        story = faults.story_at(page)
        assert story is not None
        assert story["original_url"] is None
    assert faults.stat("news/spider/private_credits_dropped") == len(CREDITS)


def test_stored_text_is_plain_text(faults: FaultCrawl) -> None:
    story = faults.story_at(SOUP_PATH)
    assert story is not None
    text = story["text"]
    assert 'Café owners on Rue Haute said the "quiet hours" rule & the new' in text
    assert "% <at most> in the first year for every terrace." in text
    for leaked in ("INJECTED-SCRIPT", "IFRAME-FALLBACK", "document.write", "color:red",
                   "<b>", "<i>", "<script", "<iframe", "&amp;", "&eacute;", "&quot;"):
        assert leaked not in text, leaked


@pytest.mark.parametrize("page", CHARSET_PAGES, ids=lambda p: p.path.rsplit("/", 1)[1])
def test_charsets_are_decoded_to_the_expected_unicode(
    faults: FaultCrawl, page: CharsetPage
) -> None:
    story = faults.story_at(page.path)
    assert story is not None
    assert story["title"] == page.title
    assert story["language"] == page.lang
    for paragraph in page.paragraphs:
        assert paragraph in story["text"]
    for value in (story["title"], story["text"]):
        assert unicodedata.is_normalized("NFC", value)
        assert "\ufffd" not in value


def test_the_crawl_stores_exactly_the_good_pages_whole(faults: FaultCrawl) -> None:
    expected = {FLAKY, SOUP_PATH, *CREDITS, *(page.path for page in CHARSET_PAGES)}
    assert sorted(p for p in ARTICLES if faults.story_at(p)) == sorted(expected)
    assert len(faults.stories) == len(expected)
    for story in faults.stories:
        assert story["title"].strip()
        assert len(story["text"]) > 200
        assert story["seen_urls"]


def test_a_redirect_to_another_host_is_followed_when_private_networks_are_allowed(
    fault_site: FaultSite, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'away.db'}"
    crawl(db_url, "-a", f"start_urls={fault_site.url}{AWAY}", *FAULT_SETTINGS)
    (story,) = export(db_url)
    moved = f"{fault_site.urls['elsewhere']}/news/moved-story-on-another-host.html"
    assert story["url"] == moved
    assert f"{fault_site.url}{AWAY}" in story["seen_urls"]
    assert story["title"] == story_title("story-moved-story-on-another-host")
