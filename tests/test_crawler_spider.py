"""The news spider's callbacks, fed real pages of the sample universe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.utils.misc import is_generator_with_return_value
from scrapy.utils.test import get_crawler

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
    crawler = get_crawler(NewsSpider, {**project, **settings})
    crawler.spider = NewsSpider.from_crawler(
        crawler, start_urls=f"{URLS['vietnam']}/,{URLS['gazette']}/"
    )
    crawler._apply_settings()
    crawler.stats.open_spider()
    return crawler.spider


def response(site: str, path: str, cls: type[TextResponse] = HtmlResponse, depth: int = 0,
             **meta: object) -> TextResponse:
    file = SITES / site / path.lstrip("/")
    body = render(file.read_text(encoding="utf-8"), URLS).encode("utf-8")
    request = Request(f"{URLS[site]}{path}", meta={"source": "start_urls", "news_depth": depth,
                                                   **meta})
    return cls(url=request.url, body=body, request=request, encoding="utf-8")


def test_aggregator_article_is_an_item_and_its_original_is_followed_once() -> None:
    news = spider()
    out = list(news.parse_page(response("vietnam", f"/{SEED}-post1045123.html")))
    (item,) = [o for o in out if isinstance(o, PageItem)]
    original = f"{URLS['daidoanket']}/{SEED}-10287654.html"
    assert item.credited_url == original
    assert item.source == "start_urls"
    assert "Những năm qua" in item.html.decode("utf-8")
    hops = [o for o in out if isinstance(o, Request) and o.meta.get("credit_hop")]
    assert [h.url for h in hops] == [original]
    assert hops[0].meta["credited_by"] == item.url


def test_credited_original_is_stored_but_not_crawled_further() -> None:
    news = spider()
    page = response("daidoanket", f"/{SEED}-10287654.html", credit_hop=True,
                    credited_by=f"{URLS['vietnam']}/{SEED}-post1045123.html")
    out = list(news.parse_page(page))
    assert len(out) == 1
    assert isinstance(out[0], PageItem)
    assert out[0].credited_by.endswith("-post1045123.html")


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
    feeds = [o for o in out if o.callback == news.parse_feed]
    assert [f.url for f in feeds] == [f"{URLS['vietnam']}/rss.xml"]


def test_depth_limit_stops_link_following() -> None:
    news = spider(NEWS_DEPTH_LIMIT=1)
    out = list(news.parse_page(response("vietnam", "/index.html", depth=1)))
    assert [o.url for o in out if o.callback == news.parse_page] == []


def test_robots_sitemap_index_news_sitemap_and_feed() -> None:
    news = spider()
    robots = list(news.parse_robots(response("vietnam", "/robots.txt", TextResponse)))
    assert [r.url for r in robots] == [f"{URLS['vietnam']}/sitemap.xml"]
    index = list(news.parse_sitemap(response("vietnam", "/sitemap.xml", XmlResponse)))
    assert {r.url for r in index} == {f"{URLS['vietnam']}/sitemap-news.xml",
                                      f"{URLS['vietnam']}/sitemap-pages.xml"}
    pages = list(news.parse_sitemap(response("vietnam", "/sitemap-news.xml", XmlResponse)))
    assert len(pages) == 4
    assert all(r.callback == news.parse_page for r in pages)
    feed = list(news.parse_feed(response("vietnam", "/rss.xml", XmlResponse)))
    assert any("utm_source=rss" in r.url for r in feed)


def test_non_html_responses_are_skipped() -> None:
    news = spider()
    request = Request(f"{URLS['vietnam']}/x.json", meta={"source": "start_urls"})
    body = TextResponse(url=request.url, body=b"{}", request=request, encoding="utf-8")
    assert list(news.parse_page(body)) == []
    assert news.crawler.stats.get_value("news/spider/non_html") == 1


def test_unknown_source_name_is_an_error(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - name: a\n    start_urls: [https://a.example/]\n",
                       encoding="utf-8")
    with pytest.raises(ValueError, match="no source named 'b'"):
        NewsSpider(source="b", sources_file=sources)


@pytest.mark.parametrize("callback", ["parse_robots", "parse_sitemap", "parse_feed",
                                      "parse_page"])
def test_callbacks_return_no_value(callback: str) -> None:
    """What Scrapy's WARN_ON_GENERATOR_RETURN_VALUE (off in our settings) checked per response."""
    assert not project_settings.WARN_ON_GENERATOR_RETURN_VALUE

    def returns_a_value() -> Iterator[int]:
        yield 1
        return 2  # noqa: B901 - the kind of callback the check must catch

    assert is_generator_with_return_value(returns_a_value)  # the check can fail
    assert not is_generator_with_return_value(getattr(NewsSpider, callback))
