"""The news spider's callbacks, fed real pages of the sample universe."""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse
from scrapy.utils.misc import is_generator_with_return_value
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.spiders.news import NewsSpider
from pipelines.items import PageItem
from tests.sites.server import render

SITES = Path(__file__).parent / "sites"
URLS = {"vietnam": "http://127.0.0.2:8000", "daidoanket": "http://127.0.0.3:8000",
        "gazette": "http://127.0.0.4:8000"}
SEED = "lao-cai-phat-huy-vai-tro-cua-cong-doan-trong-xay-dung-dang-xay-dung-chinh-quyen"


def spider(**settings: object) -> NewsSpider:
    project = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    crawler = get_crawler(NewsSpider, {**project, "ALLOW_PRIVATE_NETWORKS": True, **settings})
    crawler.spider = NewsSpider.from_crawler(
        crawler, start_urls=f"{URLS['vietnam']}/,{URLS['gazette']}/"
    )
    crawler.stats.open_spider()
    return crawler.spider


def response(site: str, path: str, cls: type[TextResponse] = HtmlResponse, depth: int = 0,
             **meta: object) -> TextResponse:
    file = SITES / site / path.lstrip("/")
    body = render(file.read_text(encoding="utf-8"), URLS).encode("utf-8")
    request = Request(f"{URLS[site]}{path}", meta={"source": "start_urls", "news_depth": depth,
                                                   **meta})
    return cls(url=request.url, body=body, request=request, encoding="utf-8")


COPY = f"{URLS['vietnam']}/{SEED}-post1045123.html"
ORIGINAL = f"{URLS['daidoanket']}/{SEED}-10287654.html"


def hold_copy(news: NewsSpider) -> Request:
    """Parse the aggregator's copy: its item waits for the original; the credit request."""
    out = list(news.parse_page(response("vietnam", f"/{SEED}-post1045123.html")))
    assert not [o for o in out if isinstance(o, PageItem)]
    (hop,) = [o for o in out if isinstance(o, Request) and o.callback == news.parse_credit]
    return hop


def test_a_copy_waits_for_its_original_and_is_credited_once_verified() -> None:
    news = spider()
    hop = hold_copy(news)
    assert hop.url == ORIGINAL
    assert hop.meta["credited_by"] == COPY
    assert hop.dont_filter
    page = response("daidoanket", f"/{SEED}-10287654.html", **hop.meta)
    original, copy = list(news.parse_credit(page))
    assert original.url == ORIGINAL
    assert original.credited_by == COPY
    assert copy.url == COPY
    assert copy.credited_url == ORIGINAL
    assert copy.credit_verified is True
    assert "Những năm qua" in copy.html.decode("utf-8")
    # A second copy crediting the same original is judged at once, without a second fetch.
    news.requested.clear()
    again = list(news.parse_page(response("vietnam", f"/{SEED}-post1045123.html")))
    assert not [o for o in again if isinstance(o, Request) and o.callback == news.parse_credit]
    (item,) = [o for o in again if isinstance(o, PageItem)]
    assert item.credit_verified is True


def test_a_credit_to_another_story_is_no_credit() -> None:
    news = spider()
    hop = hold_copy(news)
    other = response("daidoanket", "/ha-noi-tang-cuong-kiem-tra-an-toan-thuc-pham-dip-tet-trung-"
                     "thu-10287321.html", **hop.meta)
    items = [o for o in news.parse_credit(other) if isinstance(o, PageItem)]
    copy = items[-1]
    assert copy.url == COPY
    assert copy.credited_url is None
    assert news.crawler.stats.get_value("news/spider/credits_rejected") == 1


def test_an_unfetchable_original_stays_credited_unverified() -> None:
    news = spider()
    hop = hold_copy(news)
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = hop  # type: ignore[attr-defined]
    (copy,) = list(news.on_credit_error(failure))
    assert copy.credited_url == ORIGINAL
    assert copy.credit_verified is False


def test_an_amp_original_is_replaced_by_its_canonical() -> None:
    news = spider()
    hop = hold_copy(news)
    amp = HtmlResponse(url=f"{URLS['daidoanket']}/amp/story.html", request=hop.replace(
        url=f"{URLS['daidoanket']}/amp/story.html"), encoding="utf-8",
        body=f'<html amp><head><link rel="canonical" href="{ORIGINAL}"></head>'
             "<body><p>AMP</p></body></html>".encode())
    (canonical,) = list(news.parse_credit(amp))
    assert canonical.url == ORIGINAL
    assert canonical.meta["credit_canonical"]
    assert canonical.meta["credit_key"] == ORIGINAL


def test_listing_pages_are_followed_not_stored() -> None:
    news = spider()
    out = list(news.parse_page(response("vietnam", "/tag/cong-doan/index.html")))
    assert not [o for o in out if isinstance(o, PageItem)]
    urls = [o.url for o in out]
    assert any(SEED in u for u in urls)
    assert all(u.startswith(URLS["vietnam"]) for u in urls)
    assert not [u for u in urls if u.endswith((".svg", ".jpg", ".png", ".pdf"))]


def test_a_link_is_requested_once_however_many_pages_carry_it() -> None:
    news = spider()
    first = [o.url for o in news.parse_page(response("vietnam", "/tag/cong-doan/index.html"))
             if isinstance(o, Request) and o.callback == news.parse_page]
    again = [o.url for o in news.parse_page(response("vietnam", "/tag/cong-doan/index.html"))
             if isinstance(o, Request) and o.callback == news.parse_page]
    assert first
    assert len(first) == len(set(first))
    assert again == []
    assert news.crawler.stats.get_value("news/spider/links_already_requested") == len(first)


def test_home_page_announces_its_feed() -> None:
    news = spider()
    out = list(news.parse_page(response("vietnam", "/index.html")))
    feeds = [o for o in out if o.callback == news.parse_document]
    assert [f.url for f in feeds] == [f"{URLS['vietnam']}/rss.xml"]


def test_depth_limit_stops_link_following() -> None:
    news = spider(NEWS_DEPTH_LIMIT=1)
    out = list(news.parse_page(response("vietnam", "/index.html", depth=1)))
    assert [o.url for o in out if o.callback == news.parse_page] == []


def test_robots_sitemap_index_news_sitemap_and_feed() -> None:
    news = spider()
    robots = list(news.parse_robots(response("vietnam", "/robots.txt", TextResponse)))
    assert [r.url for r in robots] == [f"{URLS['vietnam']}/sitemap.xml"]
    assert robots[0].meta["download_maxsize"] == 50 * 1024 * 1024
    index = list(news.parse_document(response("vietnam", "/sitemap.xml", XmlResponse)))
    assert {r.url for r in index} == {f"{URLS['vietnam']}/sitemap-news.xml",
                                      f"{URLS['vietnam']}/sitemap-pages.xml"}
    pages = list(news.parse_document(response("vietnam", "/sitemap-news.xml", XmlResponse)))
    assert len(pages) == 4
    assert all(r.callback == news.parse_page for r in pages)
    feed = list(news.parse_document(response("vietnam", "/rss.xml", XmlResponse)))
    assert any("utm_source=rss" in r.url for r in feed)


@pytest.mark.parametrize("cls", [HtmlResponse, TextResponse, XmlResponse])
def test_a_feed_is_read_as_a_feed_whatever_the_callback_or_type(cls: type[TextResponse]) -> None:
    news = spider()
    as_page = [r.url for r in news.parse_page(response("vietnam", "/rss.xml", cls))]
    news.requested.clear()
    as_document = [r.url for r in news.parse_document(response("vietnam", "/rss.xml", cls))]
    assert as_page == as_document
    assert any("utm_source=rss" in url for url in as_page)


def test_a_gzipped_feed_is_unpacked() -> None:
    news = spider()
    plain = response("vietnam", "/rss.xml", XmlResponse)
    packed = Response(url=plain.url + ".gz", body=gzip.compress(plain.body),
                      request=plain.request)
    assert any("utm_source=rss" in r.url for r in news.parse_page(packed))


def test_discovered_urls_are_capped_per_source() -> None:
    news = spider(NEWS_MAX_URLS_PER_SOURCE=2)
    pages = list(news.parse_document(response("vietnam", "/sitemap-news.xml", XmlResponse)))
    assert len(pages) == 2
    assert news.crawler.stats.get_value("news/spider/url_cap_reached/start_urls") == 1
    assert list(news.parse_document(response("vietnam", "/rss.xml", XmlResponse))) == []


def test_non_html_responses_are_skipped() -> None:
    news = spider()
    request = Request(f"{URLS['vietnam']}/x.json", meta={"source": "start_urls"})
    body = TextResponse(url=request.url, body=b"\x00\x01 binary", request=request,
                        encoding="utf-8")
    assert list(news.parse_page(body)) == []
    assert news.crawler.stats.get_value("news/spider/non_html") == 1


def test_unknown_source_name_is_an_error(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - name: a\n    start_urls: [https://a.example/]\n",
                       encoding="utf-8")
    with pytest.raises(ValueError, match="no source named 'b'"):
        NewsSpider(source="b", sources_file=sources)


@pytest.mark.parametrize("callback", ["parse_robots", "parse_document", "parse_page",
                                      "parse_credit", "on_credit_error"])
def test_callbacks_return_no_value(callback: str) -> None:
    """What Scrapy's WARN_ON_GENERATOR_RETURN_VALUE (off in our settings) checked per response."""
    assert not project_settings.WARN_ON_GENERATOR_RETURN_VALUE

    def returns_a_value() -> Iterator[int]:
        yield 1
        return 2  # noqa: B901 - the kind of callback the check must catch

    assert is_generator_with_return_value(returns_a_value)  # the check can fail
    assert not is_generator_with_return_value(getattr(NewsSpider, callback))


def test_entries_older_than_the_last_finished_run_are_skipped() -> None:
    news = spider()
    news.previous_runs = {"start_urls": dt.datetime(2024, 3, 8, tzinfo=dt.UTC)}
    body = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>/old.html</loc><lastmod>2024-03-07</lastmod></url>
      <url><loc>/new.html</loc><lastmod>2024-03-09T10:00:00+01:00</lastmod></url>
      <url><loc>/undated.html</loc></url></urlset>"""
    request = Request(f"{URLS['vietnam']}/s.xml", meta={"source": "start_urls"})
    out = list(news.parse_document(XmlResponse(url=request.url, body=body, request=request)))
    assert [r.url for r in out] == [f"{URLS['vietnam']}/new.html",
                                    f"{URLS['vietnam']}/undated.html"]
    assert news.crawler.stats.get_value("news/spider/old_entries_skipped") == 1


def test_an_original_fetched_by_another_process_releases_the_copy_it_carries() -> None:
    hop = hold_copy(spider())
    other = spider()  # a second crawl process sharing the frontier: it holds no copy
    page = response("daidoanket", f"/{SEED}-10287654.html", **hop.meta)
    original, copy = list(other.parse_credit(page))
    assert copy.url == COPY
    assert copy.credited_url == original.url == ORIGINAL
    assert copy.credit_verified is True
