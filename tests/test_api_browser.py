"""The browsing pages in a real headless Chromium over a crawled sample universe."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.api_server import serving
from tests.crawling import crawl_sites
from tests.servers import install_package
from tests.sites.server import SampleSites

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SEED_TITLE = "Lào Cai: Phát huy vai trò của công đoàn trong xây dựng Đảng, xây dựng chính quyền"
# Where to keep the screenshot of the search page (docs/serve.png for the README).
SCREENSHOT_ENV = "NEWSAGG_SCREENSHOT"


def install_chromium() -> None:
    """Debian's chromium, installed with apt-get when it is missing (never a downloaded build)."""
    if not CHROMIUM.exists():
        install_package("chromium", "chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium driven by Playwright."""
    install_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(sample_sites: SampleSites, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`scrapy serve` over the crawled sample universe."""
    root = tmp_path_factory.mktemp("browse")
    db_url = f"sqlite:///{root / 'news.db'}"
    crawl_sites(sample_sites, db_url)
    with serving(db_url, root / "serve.log") as base:
        yield base


def test_search_without_diacritics_finds_the_seed_story(browser: Browser, site: str,
                                                        tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(site + "/")
    expect(page.locator("li.story")).to_have_count(9)
    page.fill("input[name=q]", "cong doan")
    page.click("button[type=submit]")
    expect(page.locator("li.story a.title").first).to_have_text(SEED_TITLE)
    assert page.locator("li.story").count() < 9
    page.screenshot(path=os.environ.get(SCREENSHOT_ENV) or str(tmp_path / "serve.png"),
                    full_page=True)


def test_a_filter_narrows_the_list(browser: Browser, site: str) -> None:
    page = browser.new_page()
    page.goto(site + "/")
    expect(page.locator("li.story")).to_have_count(9)
    page.select_option("select[name=language]", "fr")
    page.click("button[type=submit]")
    expect(page.locator("li.story")).to_have_count(2)
    assert page.url.endswith("language=fr&published_since=&published_until=")
    titles = page.locator("li.story a.title").all_inner_texts()
    assert all(title.startswith(("Un ", "La ")) for title in titles), titles


def test_a_story_page_shows_every_url_and_the_credit(browser: Browser, site: str,
                                                     sample_sites: SampleSites) -> None:
    page = browser.new_page()
    page.goto(site + "/?q=c%C3%B4ng+%C4%91o%C3%A0n")
    page.click(f"text={SEED_TITLE}")
    expect(page.locator("h1")).to_have_text(SEED_TITLE)
    urls = page.locator("tr.seen-url td:first-child").all_inner_texts()
    aggregator = [u for u in urls if u.startswith(sample_sites.urls["vietnam"])]
    original = [u for u in urls if u.startswith(sample_sites.urls["daidoanket"])]
    assert len(urls) == 3
    assert len(aggregator) == 2
    assert len(original) == 1
    expect(page.locator("p.credit a")).to_have_text(original[0])
