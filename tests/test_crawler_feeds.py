"""robots.txt sitemaps, sitemaps (index, urlset, Google News) and feeds."""

from __future__ import annotations

from crawler.feeds import (
    parse_feed,
    parse_sitemap,
    robots_sitemaps,
)

BASE = "https://news.example/"


def test_robots_sitemap_lines() -> None:
    robots = "User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\nsitemap:https://cdn.example/s.xml\n"
    assert robots_sitemaps(robots, BASE) == [
        "https://news.example/sitemap.xml",
        "https://cdn.example/s.xml",
    ]


def test_sitemap_index_and_urlset() -> None:
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://news.example/s1.xml</loc></sitemap></sitemapindex>"""
    links = parse_sitemap(index, BASE)
    assert links.sitemaps == ["https://news.example/s1.xml"]
    assert links.pages == []


def test_google_news_sitemap() -> None:
    body = """<?xml version="1.0" encoding="UTF-8"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
            xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://news.example/a.html</loc>
        <news:news><news:publication><news:name>Báo</news:name><news:language>vi</news:language>
        </news:publication><news:publication_date>2024-08-14T08:30:00+07:00</news:publication_date>
        <news:title>Tiêu đề</news:title></news:news></url>
      <url><loc> /b.html </loc></url>
    </urlset>""".encode()
    links = parse_sitemap(body, BASE)
    assert links.pages == ["https://news.example/a.html", "https://news.example/b.html"]


def test_rss_and_atom() -> None:
    rss = b"""<rss version="2.0"><channel><title>x</title>
      <item><title>A</title><link>https://news.example/a.html?utm_source=rss</link></item>
      <item><title>B</title><link>/b.html</link></item></channel></rss>"""
    assert parse_feed(rss, BASE) == [
        "https://news.example/a.html?utm_source=rss",
        "https://news.example/b.html",
    ]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>
      <entry><link rel="alternate" href="https://news.example/c.html"/><title>C</title></entry>
      <entry><link rel="enclosure" href="https://news.example/c.mp3"/>
             <link href="https://news.example/d.html"/></entry></feed>"""
    assert parse_feed(atom, BASE) == ["https://news.example/c.html", "https://news.example/d.html"]


def test_garbage_gives_nothing() -> None:
    for body in (b"", b"   ", b"<html><body>not xml", b"\x00\xff\xfe garbage", b"<rss><item>"):
        assert parse_feed(body, BASE) == []
        links = parse_sitemap(body, BASE)
        assert links.pages == []
        assert links.sitemaps == []
