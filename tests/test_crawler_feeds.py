"""Discovery documents read by what they hold: sitemaps (index, urlset, Google News, text),
RSS 0.9x/2.0, RSS 1.0, Atom and JSON Feed, gzipped or not, with or without a BOM."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest

from crawler.feeds import (
    DocumentKind,
    UnreadableDocument,
    read_document,
    robots_sitemaps,
    sniff,
    unpack,
)

BASE = "https://news.example/"
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://news.example/s1.xml</loc></sitemap></sitemapindex>"""
NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="/s.xsl"?>
<!-- generated -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://news.example/a.html</loc><lastmod>2024-08-14T08:30:00+07:00</lastmod>
    <news:news><news:publication><news:name>Báo</news:name><news:language>vi</news:language>
    </news:publication><news:publication_date>2024-08-14T08:30:00+07:00</news:publication_date>
    <news:title>Tiêu đề</news:title></news:news></url>
  <url><loc> /b.html </loc></url>
</urlset>""".encode()
RSS2 = b"""<rss version="2.0"><channel><title>x</title><link>https://news.example/</link>
  <item><title>A</title><link>https://news.example/a.html?utm_source=rss</link>
    <pubDate>Thu, 07 Mar 2024 10:10:00 +0100</pubDate></item>
  <item><title>B</title><link>/b.html</link></item>
  <item><title>C</title><guid>https://news.example/c.html</guid></item></channel></rss>"""
RSS091 = b"""<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x">
<rss version="0.91"><channel><item><link>https://news.example/old.html</link></item>
</channel></rss>"""
RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://news.example/"><link>https://news.example/</link></channel>
  <item rdf:about="https://news.example/r.html"><link>https://news.example/r.html</link>
    <dc:date>2024-03-07T10:10:00Z</dc:date></item></rdf:RDF>"""
ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>
  <entry><link rel="alternate" href="https://news.example/c.html"/><title>C</title>
    <updated>2024-03-07T10:10:00Z</updated></entry>
  <entry><link rel="enclosure" href="https://news.example/c.mp3"/>
         <link href="https://news.example/d.html"/></entry></feed>"""
JSON_FEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "x",
  "items": [{"id": "1", "url": "https://news.example/j.html",
             "date_published": "2024-03-07T10:10:00Z"},
            {"id": "2", "url": "/k.html"}, {"id": "3"}, "junk"]}"""
TEXT = b"https://news.example/t1.html\n\nhttps://news.example/t2.html\nnot a url\n"


def test_robots_sitemap_lines() -> None:
    robots = (b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\n"
              b"sitemap:https://cdn.example/s.xml\nSitemap: ftp://x.example/s\n")
    assert robots_sitemaps(robots, BASE) == [
        "https://news.example/sitemap.xml",
        "https://cdn.example/s.xml",
    ]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (INDEX, DocumentKind.SITEMAP_INDEX), (NEWS_SITEMAP, DocumentKind.URLSET),
        (RSS2, DocumentKind.RSS), (RSS091, DocumentKind.RSS), (RDF, DocumentKind.RDF),
        (ATOM, DocumentKind.ATOM), (JSON_FEED, DocumentKind.JSON_FEED),
        (TEXT, DocumentKind.TEXT_SITEMAP), (b"\xef\xbb\xbf" + RSS2, DocumentKind.RSS),
        ("\ufeff".encode("utf-16-le") + ATOM.decode().encode("utf-16-le"), DocumentKind.ATOM),
        (b"<!DOCTYPE html><html><body>x</body></html>", DocumentKind.HTML),
        (b"  <div>fragment</div>", DocumentKind.HTML),
        (b"\x00\xff garbage", DocumentKind.UNKNOWN), (b"", DocumentKind.UNKNOWN),
    ],
)
def test_kind_comes_from_the_content(body: bytes, kind: DocumentKind) -> None:
    assert sniff(body) is kind


def test_sitemap_index_and_google_news_sitemap() -> None:
    index = read_document(INDEX, BASE)
    assert [e.url for e in index.sitemaps] == ["https://news.example/s1.xml"]
    assert index.pages == []
    news = read_document(NEWS_SITEMAP, BASE)
    assert [e.url for e in news.pages] == ["https://news.example/a.html",
                                           "https://news.example/b.html"]
    assert news.pages[0].date == dt.datetime(2024, 8, 14, 1, 30, tzinfo=dt.UTC)


def test_every_feed_format() -> None:
    assert [e.url for e in read_document(RSS2, BASE).pages] == [
        "https://news.example/a.html?utm_source=rss", "https://news.example/b.html",
        "https://news.example/c.html"]
    assert read_document(RSS2, BASE).pages[0].date == dt.datetime(2024, 3, 7, 9, 10,
                                                                  tzinfo=dt.UTC)
    assert [e.url for e in read_document(RSS091, BASE).pages] == ["https://news.example/old.html"]
    assert [e.url for e in read_document(RDF, BASE).pages] == ["https://news.example/r.html"]
    assert [e.url for e in read_document(ATOM, BASE).pages] == ["https://news.example/c.html",
                                                                "https://news.example/d.html"]
    assert [e.url for e in read_document(JSON_FEED, BASE).pages] == [
        "https://news.example/j.html", "https://news.example/k.html"]
    assert [e.url for e in read_document(TEXT, BASE).pages] == ["https://news.example/t1.html",
                                                                "https://news.example/t2.html"]


def test_gzip_is_unpacked_and_bounded() -> None:
    assert unpack(gzip.compress(RSS2)) == RSS2
    assert unpack(RSS2) is RSS2
    with pytest.raises(UnreadableDocument):
        unpack(gzip.compress(b" " * 2000), max_size=1000)
    with pytest.raises(UnreadableDocument):
        unpack(gzip.compress(RSS2)[:30])


def test_the_protocols_url_limit_cuts_a_document() -> None:
    body = ("<urlset>" + "".join(f"<url><loc>/p{i}.html</loc></url>" for i in range(12))
            + "</urlset>").encode()
    found = read_document(body, BASE, limit=10)
    assert len(found.pages) == 10
    assert found.truncated
    assert not read_document(body, BASE).truncated


def test_garbage_gives_nothing() -> None:
    for body in (b"", b"   ", b"<html><body>not xml", b"\x00\xff\xfe garbage", b"<rss><item>",
                 b"{not json", b"<urlset><url>"):
        found = read_document(body, BASE)
        assert found.pages == []
        assert found.sitemaps == []
