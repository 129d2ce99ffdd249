"""Which links the crawl fetches (Scrapy's IGNORED_EXTENSIONS, feeds excepted)."""

from __future__ import annotations

import pytest

from common.urls import host_of, join_url
from crawler.links import is_fetchable_link, resolve_link, url_origin


@pytest.mark.parametrize(
    ("url", "fetchable"),
    [
        ("https://e.x/story.html", True),
        ("https://e.x/report.PDF", False),
        ("https://e.x/img/photo.jpg", False),
        ("mailto:a@e.x", False),
        ("https://e.x/section/", True),
        ("https://e.x/news.rss", True),
        ("https://e.x/dump.tar.gz", False),
        ("https://e.x/sitemap.xml.gz", True),
    ],
)
def test_is_fetchable_link(url: str, fetchable: bool) -> None:
    assert is_fetchable_link(url) is fetchable


@pytest.mark.parametrize(
    "href",
    ["/a/../b.html", "//other.example/x", "http:rel.html", "http:///p", "https://E.x:8/y",
     "../up.html", "?page=2", "#top", "same.html", "/doc.pdf", "mailto:a@e.x",
     "http://[::1/x", "https://e.x:99999/", "HTTP://Upper.example/Z"],
)
@pytest.mark.parametrize(
    "base", ["https://site.example/news/2024/story.html?id=3", "http://site.example:8080/"]
)
def test_resolve_link_agrees_with_join_and_fetchability(base: str, href: str) -> None:
    joined = join_url(base, href)
    expected = (joined, host_of(joined)) if joined and is_fetchable_link(joined) else None
    assert resolve_link(base, href, url_origin(base)) == expected
    assert resolve_link(base, href, None) == expected
