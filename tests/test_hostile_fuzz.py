"""Property tests: discovery parsing, page classification and extraction never raise on junk."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from common.urls import canonical_url, host_of, join_url
from crawler.encoding import looks_binary, page_text
from crawler.feeds import Discovery, read_document, robots_sitemaps, unpack
from crawler.links import is_fetchable_link, resolve_link, url_origin
from crawler.pages import (
    credited_url,
    feed_links,
    is_article_page,
    page_anchors,
    page_links,
    parse_html,
)
from pipelines.extract import extract_article
from pipelines.markers import load_markers

BASE = "http://news.example/section/story-one-two-three.html"
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
MARKERS = load_markers()

HREFS = st.one_of(
    st.sampled_from([
        "http://[::1", "http://[zz]/x", "//[::1/x", "http://a:999999/", "http://a b/",
        "javascript:x", "mailto:a@b", "/files/report.pdf", "?page=2",
        "HTTP://EXAMPLE.ORG/Path?utm_source=x#frag",
        "http://169.254.169.254/latest/", "http://xn--/", "data:text/html,<b>", "\u0000", "",
        "https://other.example/news/a-b-c-d.html", "../../../../etc/passwd", "http://" + "a" * 300,
    ]),
    st.text(max_size=40),
)
TAGS = ["a", "p", "div", "article", "td", "li", "script", "style", "iframe", "h1", "meta", "link",
        "time", "span", "table", "tr", "br", "img", "svg", "math", "template", "noscript"]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    """Mangled HTML: random tags, open and closed in any order, odd attributes, text, entities."""
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 6))
        tag = draw(st.sampled_from(TAGS))
        if kind == 0:
            parts.append(f'<a href="{draw(HREFS)}">{draw(TEXT)}</a>')
        elif kind == 1:
            parts.append(f"<{tag} class='{draw(TEXT)}'>")
        elif kind == 2:
            parts.append(f"</{tag}>")
        elif kind == 3:
            parts.append(draw(st.sampled_from(["&amp;", "&#0;", "&#x110000;", "&bogus;", "<!--",
                                               "-->", "<![CDATA[", "<?xml?>", "<!DOCTYPE x>"])))
        elif kind == 4:
            parts.append(f'<link rel="canonical" href="{draw(HREFS)}">')
        elif kind == 5:
            ld = draw(st.sampled_from(['{"@type": "NewsArticle"', "[[[[[[[[", "1e999999",
                                       '{"@graph": [{"@type": ["Article", 1]}]}',
                                       '{"@type": null}']))
            parts.append(f'<script type="application/ld+json">{ld}</script>')
        else:
            parts.append(draw(TEXT))
    return "".join(parts)


SITEMAP = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/'
           'sitemap/0.9"><url><loc>/a-b-c-d.html</loc></url><url><loc>http://[::1</loc></url>'
           "</urlset>")
FEED = ('<rss version="2.0"><channel><item><link>/one.html</link></item><item><link href="x" '
        'rel="alternate"/></item></channel></rss><feed><entry><link href="/two.html"/></entry>'
        "</feed>")


@st.composite
def mangled(draw: st.DrawFn, document: str) -> bytes:
    """A discovery document cut, spliced and salted with junk bytes."""
    data = bytearray(document.encode("utf-8"))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.integers(0, 2))
        if action == 0:
            del data[at:at + draw(st.integers(1, 30))]
        elif action == 1:
            data[at:at] = draw(st.binary(max_size=20))
        else:
            data[at:at] = draw(st.sampled_from([b"<url>", b"</loc>", b"<!ENTITY x 'y'>", b"&x;",
                                                b"\x00", b"\xff\xfe", b"<item><link>"]))
    return bytes(data)


def assert_links(links: list[str]) -> None:
    for link in links:
        assert isinstance(link, str)
        assert join_url(BASE, link) is not None


@FUZZ
@given(st.one_of(mangled(SITEMAP), mangled(FEED), st.binary(max_size=3000)))
def test_discovery_parsers_never_raise(body: bytes) -> None:
    found = read_document(body, BASE)
    assert isinstance(found, Discovery)
    assert_links([entry.url for entry in found.sitemaps + found.pages])
    if not body.startswith(b"\x1f\x8b"):  # a corrupt gzip is refused: UnreadableDocument
        assert unpack(body) == body


@FUZZ
@given(st.lists(st.one_of(st.builds("Sitemap: {}".format, HREFS), TEXT), max_size=20))
def test_robots_sitemaps_never_raise(lines: list[str]) -> None:
    assert_links(robots_sitemaps("\n".join(lines).encode("utf-8", "surrogatepass"), BASE))


@FUZZ
@given(html_soup(), st.sampled_from([BASE, "http://news.example/", "https://[::1]:8080/a-b-c-d"]))
@example('<a href=""\x08"></a><link rel="alternate" \x01=1 href="/f">', BASE)
def test_page_classification_never_raises(html: str, url: str) -> None:
    root = parse_html(html)
    anchors = page_anchors(root, url)
    assert is_article_page(root, url) in (True, False)
    assert all(is_fetchable_link(link) and host_of(link) for link in page_links(anchors))
    assert_links(feed_links(root, url))
    credit = credited_url(root, anchors, url, MARKERS)
    assert credit is None or (is_fetchable_link(credit) and host_of(credit) != host_of(url))


@FUZZ
@given(HREFS)
def test_url_helpers_never_raise(href: str) -> None:
    joined = join_url(BASE, href)
    if joined is not None and is_fetchable_link(joined):
        assert urlsplit(canonical_url(joined)).hostname == host_of(joined)
    for base in (BASE, "https://news.example:8443/a/b/c.html?x=1#f"):
        expected = join_url(base, href)
        if expected is None or not is_fetchable_link(expected):
            assert resolve_link(base, href, url_origin(base)) is None
        else:
            assert resolve_link(base, href, url_origin(base)) == (expected, host_of(expected))


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([None, "text/html", "text/html; charset=utf-8",
                                                  "text/html; charset=bogus-42",
                                                  "text/html; charset=windows-1258"]))
def test_page_text_never_raises(body: bytes, content_type: str | None) -> None:
    assert looks_binary(body) in (True, False)
    text = page_text(body, content_type, body.decode("utf-8", "replace"))
    assert isinstance(text, str)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(html_soup(), st.binary(max_size=2000)))
def test_extract_article_never_raises_on_soup(html: str | bytes) -> None:
    article = extract_article(html, BASE)
    if article is not None:  # an article found in soup has a body taken from the input
        assert article.text.strip()
        assert len(article.text) <= len(html)
        assert unicodedata.is_normalized("NFC", article.text)


TEN_MB = 10 * 1024 * 1024
PARAGRAPH = "<p>Residents of the old town greeted the decision with relief after the floods.</p>"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "html",
    [
        "<html><body>" + "<div>" * (TEN_MB // 5) + "</body></html>",
        "<html><body><p>" + "word " * (TEN_MB // 5) + "</p></body></html>",
        "<html><body>" + "<div>" * 100_000 + PARAGRAPH * 5 + "</div>" * 100_000 + "</body></html>",
        "<html><body>" + "<b><i>" * 50_000 + PARAGRAPH * 5,
    ],
    ids=["10MB-of-div", "10MB-one-paragraph", "deep-nesting", "unclosed-nesting"],
)
def test_extract_article_survives_huge_and_deep_pages(html: str) -> None:
    article = extract_article(html, BASE)
    if article is not None:  # capped input: never more text than the page's paragraphs hold
        assert article.text.strip()
        assert len(article.text) <= len(html) // 4
    root = parse_html(html)
    anchors = page_anchors(root, BASE)
    assert is_article_page(root, BASE) in (True, False)
    page_links(anchors)
    credited_url(root, anchors, BASE, MARKERS)
