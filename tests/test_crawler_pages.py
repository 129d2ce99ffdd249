"""Telling articles from listings, finding feeds and the credited original."""

from __future__ import annotations

import pytest
from lxml import etree

from crawler.pages import (
    credited_url,
    feed_links,
    is_article_page,
    page_anchors,
    page_links,
    parse_html,
    url_looks_like_listing,
)
from pipelines.markers import load_markers

URL = "https://agg.example/lao-cai-cong-doan-post1045123.html"
MARKERS = load_markers()


def page(body: str, head: str = "") -> etree._Element:
    return parse_html(f"<html><head>{head}</head><body>{body}</body></html>")


@pytest.mark.parametrize(
    "url",
    [
        "https://agg.example/",
        "https://agg.example/tag/cong-doan/",
        "https://agg.example/destinations/lao-cai/?page=2",
        "https://agg.example/search?q=lao+cai",
        "https://agg.example/author/tue-phuong/",
        "https://agg.example/gallery/",
    ],
)
def test_listing_urls(url: str) -> None:
    assert url_looks_like_listing(url)
    assert not is_article_page(page("", '<meta property="og:type" content="article">'), url)


def test_article_signals() -> None:
    assert is_article_page(page("", '<meta property="og:type" content="article">'), URL)
    json_ld = '<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle"}]}</script>'
    assert is_article_page(page("", json_ld), "https://agg.example/x")
    website = '<meta property="og:type" content="website">'
    assert not is_article_page(page("", website), "https://agg.example/about-us-and-our-team")
    assert is_article_page(page(""), "https://agg.example/2024/08/14/story")


def test_feed_links() -> None:
    head = ('<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
            '<link rel="alternate" hreflang="fr" href="/fr/">')
    assert feed_links(page("", head), URL) == ["https://agg.example/rss.xml"]


def test_page_links_are_absolute_unique_and_fetchable() -> None:
    body = ('<a href="/a.html#x">a</a><a href="/a.html">a</a><a href="mailto:x@y">m</a>'
            '<a href="/doc.pdf">pdf</a><a href="https://other.example/b">b</a>')
    assert page_links(page_anchors(page(body), URL)) == ["https://agg.example/a.html",
                                                         "https://other.example/b"]


def test_parse_html_survives_empty_and_nul_text() -> None:
    assert parse_html("").tag == "html"
    assert parse_html(" \x00 ").tag == "html"
    assert parse_html(b" \x00 ").tag == "html"
    assert page_links(page_anchors(parse_html('<a href="/x\x00y">x</a>'), URL)) == [
        "https://agg.example/xy"]


@pytest.mark.parametrize(
    ("body", "head", "expected"),
    [
        ('<p><a href="https://orig.example/story-1.html" rel="nofollow">Source link</a></p>', "",
         "https://orig.example/story-1.html"),
        ('<p>Nguồn: <a href="https://orig.example/s">Báo Đại đoàn kết</a></p>', "",
         "https://orig.example/s"),
        ('<p>Theo <a href="https://orig.example/t">Tuổi Trẻ</a></p>', "", "https://orig.example/t"),
        ('<p>Quelle: <a href="https://orig.example/q">Zeitung</a></p>', "", "https://orig.example/q"),
        ("", '<link rel="canonical" href="https://orig.example/c.html">',
         "https://orig.example/c.html"),
        ('<p>Theo dõi chúng tôi trên <a href="https://news.other.example/p">trang</a></p>', "",
         None),
        ('<p><a href="https://www.facebook.com/sharer?u=x">Source</a></p>', "", None),
        ('<p><a href="/own.html">Source link</a></p>',
         '<link rel="canonical" href="/own.html">', None),
        ('<p>Theory of <a href="https://orig.example/t">everything</a></p>', "", None),
        ('<p>Read the original <a href="https://orig.example/r">here</a></p>', "",
         "https://orig.example/r"),
        ('<p>Read more <a href="https://orig.example/m">here</a></p>', "", None),
        ('<div>Full story: <a href="https://orig.example/o"> Originally\n PUBLISHED: </a></div>',
         "", "https://orig.example/o"),
    ],
)
def test_credited_url(body: str, head: str, expected: str | None) -> None:
    root = page(body, head)
    assert credited_url(root, page_anchors(root, URL), URL, MARKERS) == expected
