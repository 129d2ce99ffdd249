"""A real crawl of the sample universe into a real database, checked through the export."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from storage.models import Story, StoryUrl
from storage.session import make_engine
from tests.crawling import crawl, crawl_sites, export, log_size, requests_since, scrapy
from tests.servers import new_postgres_database
from tests.sites.server import SampleSites

SEED_PATH = "/lao-cai-phat-huy-vai-tro-cua-cong-doan-trong-xay-dung-dang-xay-dung-chinh-quyen"
SEED_TITLE = "Lào Cai: Phát huy vai trò của công đoàn trong xây dựng Đảng, xây dựng chính quyền"
CHROME = ("Source link", "Cùng chủ đề", "Nổi bật", "Mới nhất", "Cùng tác giả", "Bài đọc nhiều",
          "Cùng chuyên mục", "Trang chủ", "ảnh 1", "Destinations")
TEASER_WORDS = ("thanh mai", "Vietcombank", "Condé Nast", "Sín Chéng", "Y Ty", "7 million",
                "Sa Pa", "khuyến học", "văn minh đô thị")


class Crawled:
    """One crawl of the sample universe: its database, export and requests."""

    def __init__(self, db_url: str, stories: list[dict], requests: list[str]) -> None:
        self.db_url = db_url
        self.stories = stories
        self.requests = requests

    def story(self, title: str) -> dict:
        (found,) = [s for s in self.stories if s["title"] == title]
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawled(request: pytest.FixtureRequest, sample_sites: SampleSites,
            tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'news.db'}"
    else:
        db_url = new_postgres_database(request.getfixturevalue("postgres_url"))
    offset = log_size(sample_sites)
    crawl_sites(sample_sites, db_url)
    requests = requests_since(sample_sites, offset)
    return Crawled(db_url, export(db_url), requests)


def table_counts(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stories = conn.scalar(select(func.count()).select_from(Story))
        urls = conn.scalar(select(func.count()).select_from(StoryUrl))
    engine.dispose()
    return stories or 0, urls or 0


def test_every_story_once(crawled: Crawled) -> None:
    titles = Counter(s["title"] for s in crawled.stories)
    assert len(crawled.stories) == 9, titles
    assert all(count == 1 for count in titles.values()), titles
    languages = Counter(s["language"] for s in crawled.stories)
    assert languages == {"vi": 3, "en": 4, "fr": 2}


def test_seed_story_is_clean_vietnamese_and_credited(
    crawled: Crawled, sample_sites: SampleSites
) -> None:
    seed = crawled.story(SEED_TITLE)
    aggregator = f"{sample_sites.urls['vietnam']}{SEED_PATH}-post1045123.html"
    original = f"{sample_sites.urls['daidoanket']}{SEED_PATH}-10287654.html"
    text = seed["text"]
    assert seed["language"] == "vi"
    assert text.startswith("Những năm qua, Liên đoàn Lao động tỉnh Lào Cai")
    assert text.endswith("trong tham gia xây dựng Đảng, chính quyền.")
    for chrome in (*CHROME, *TEASER_WORDS, "Tuệ Phương"):
        assert chrome not in text, chrome
    assert "null" not in text.split()
    assert seed["authors"] == ["Tuệ Phương"]
    assert seed["url"] == original
    assert seed["original_url"] == original
    assert seed["site"] == "127.0.0.3"
    assert aggregator in seed["seen_urls"]
    assert original in seed["seen_urls"]
    assert f"{aggregator}?utm_source=rss&utm_medium=feed" in seed["seen_urls"]
    assert seed["published_at"] == "2024-08-14T01:30:00+00:00"


def test_aliases_join_their_story(crawled: Crawled, sample_sites: SampleSites) -> None:
    library = crawled.story("Old library reopens after five-year restoration")
    gazette = sample_sites.urls["gazette"]
    assert library["url"] == f"{gazette}/news/2024/09/03/old-library-reopens.html"
    assert f"{gazette}/amp/old-library-reopens.html" in library["seen_urls"]
    assert f"{gazette}/print/old-library-reopens.html" in library["seen_urls"]


def test_authors_and_dates(crawled: Crawled) -> None:
    barrier = crawled.story("Council approves £40m flood barrier for the River Wend")
    assert barrier["authors"] == ["Jane Doe", "John Smith"]
    assert barrier["published_at"] == "2024-09-02T06:45:00+00:00"
    assert all(s["published_at"] for s in crawled.stories)


def test_listing_pages_are_never_stories(crawled: Crawled) -> None:
    for story in crawled.stories:
        for url in story["seen_urls"]:
            assert not any(part in url for part in ("/tag/", "/author/", "/gallery", "/search",
                                                    "page=2")), url
            assert urlsplit(url).path not in ("", "/", "/world", "/world/"), url
            assert not url.endswith("/"), url


def test_never_fetched_pages(crawled: Crawled) -> None:
    assert crawled.requests, "the crawl made no request to the sample sites"
    assert not [r for r in crawled.requests if r.startswith("REQ vietnam GET /private/")]
    daidoanket = {r.split()[3] for r in crawled.requests if r.startswith("REQ daidoanket ")}
    assert daidoanket == {"/robots.txt", f"{SEED_PATH}-10287654.html"}


def test_discovery_reads_robots_sitemaps_and_feeds(crawled: Crawled) -> None:
    fetched = {tuple(r.split()[1:4:2]) for r in crawled.requests}
    for expected in [("vietnam", "/robots.txt"), ("vietnam", "/sitemap.xml"),
                     ("vietnam", "/sitemap-news.xml"), ("vietnam", "/rss.xml"),
                     ("gazette", "/atom.xml"), ("gazette", "/sitemap.xml")]:
        assert expected in fetched, expected


def test_second_crawl_adds_no_rows(crawled: Crawled, sample_sites: SampleSites) -> None:
    before = table_counts(crawled.db_url)
    crawl_sites(sample_sites, crawled.db_url)
    assert table_counts(crawled.db_url) == before
    assert [s["url"] for s in export(crawled.db_url)] == [s["url"] for s in crawled.stories]


def test_export_filters(crawled: Crawled) -> None:
    french = export(crawled.db_url, "--language", "fr")
    assert sorted(s["title"] for s in french) == [
        "La passerelle piétonne rouvre après huit mois de travaux",
        "Un marché de nuit s'installe sur les quais tout l'automne",
    ]
    assert len(export(crawled.db_url, "--source", "start_urls")) == 9
    refused = scrapy("export", "-o", "-", "-s", f"DATABASE_URL={crawled.db_url}",
                     "--source", "no-such-source")
    assert refused.returncode == 2
    assert "no source named 'no-such-source'" in refused.stderr
    assert len(export(crawled.db_url, "--since", "2000-01-01")) == 9
    assert export(crawled.db_url, "--since", "2999-01-01") == []
    keys = {"url", "title", "text", "language", "published_at", "authors", "site",
            "original_url", "seen_urls"}
    assert all(keys <= set(story) for story in crawled.stories)


def test_export_writes_a_file(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "stories.jsonl"
    result = scrapy("export", "-o", str(out), "-s", f"DATABASE_URL={crawled.db_url}")
    assert result.returncode == 0, result.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 9


def test_private_network_guard_blocks_the_credit_hop(
    sample_sites: SampleSites, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'guarded.db'}"
    result = crawl(db_url, "-a", f"start_urls={sample_sites.urls['vietnam']}/", private=False)
    assert f"Dropped the credit {sample_sites.urls['daidoanket']}/" in result.stderr
    seed = [s for s in export(db_url) if s["title"] == SEED_TITLE]
    assert len(seed) == 1
    assert all("127.0.0.3" not in url for url in seed[0]["seen_urls"])
    assert seed[0]["original_url"] is None  # never fetched: not recorded either


def test_named_source_from_a_sources_file(sample_sites: SampleSites, tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - name: gazette\n    start_urls: ['{sample_sites.urls['gazette']}/']\n"
        f"  - name: vietnam\n    start_urls: ['{sample_sites.urls['vietnam']}/']\n",
        encoding="utf-8",
    )
    db_url = f"sqlite:///{tmp_path / 'one.db'}"
    crawl(db_url, "-a", "source=gazette", "-s", f"NEWS_SOURCES_FILE={sources}")
    stories = export(db_url)
    assert len(stories) == 5
    assert {s["site"] for s in stories} == {"127.0.0.4"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-a", "source=nowhere"), "no source named 'nowhere'"),
        (("-a", "start_urls=ftp://x"), "malformed URL"),
        (("-s", "DATABASE_URL=postgresql+psycopg://newsagg:hunter2@127.0.0.1:9/none"),
         "cannot open database postgresql+psycopg://newsagg:***@127.0.0.1:9/none"),
    ],
)
def test_bad_configuration_stops_with_one_message(args: tuple[str, ...], message: str) -> None:
    result = scrapy("crawl", "news", *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr


def test_malformed_sources_file(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: x\n    start_urls: [https://x.example/]\n    bogus: 1\n",
                   encoding="utf-8")
    result = scrapy("crawl", "news", "-s", f"NEWS_SOURCES_FILE={bad}")
    assert result.returncode != 0
    assert f"{bad}: source #1 ('x'): unknown key 'bogus'" in result.stderr
    assert "Traceback" not in result.stderr
