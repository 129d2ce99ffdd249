"""Property tests: extract_article never raises and returns an Article or None."""

from __future__ import annotations

import codecs
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.extract import Article, extract_article

URL = "https://example.org/story"
TAGS = ["p", "div", "span", "article", "h1", "h3", "a", "table", "td", "ul", "li", "script",
        "nav", "figure", "time", "meta", "html", "body", "head", "title", "br", "!--", "?xml"]
ENCODINGS = ["utf-8", "utf-16", "cp1252", "cp1258", "shift_jis", "koi8-r", "latin-1"]
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

fragments = st.one_of(
    st.text(max_size=80),
    st.sampled_from(TAGS).map(lambda tag: f"<{tag}>"),
    st.sampled_from(TAGS).map(lambda tag: f"</{tag}>"),
    st.sampled_from(["<meta charset='koi8-r'>", "<html lang='zz-!!'>", "&#xD800;", "&bogus;",
                     "<script type='application/ld+json'>{\"@type\": [1, {}]</script>",
                     "<meta property='article:published_time' content='99999-13-45'>",
                     "<link rel='canonical' href='http://[::1'>", "\x00", "\ufeff"]),
)
html_soup = st.lists(fragments, max_size=60).map("".join)


def check(html: str | bytes, caplog: pytest.LogCaptureFixture) -> None:
    """Return type is Article or None, and no error was swallowed by the safety net."""
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="pipelines"):
        result = extract_article(html, URL)
    assert result is None or isinstance(result, Article)
    assert not [r for r in caplog.records if r.name.startswith("pipelines")]


@PROPERTY_SETTINGS
@given(html_soup)
def test_random_markup_never_raises(caplog: pytest.LogCaptureFixture, html: str) -> None:
    """Mangled markup of random tags and text gives an Article or None."""
    check(html, caplog)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2000))
def test_byte_soup_never_raises(caplog: pytest.LogCaptureFixture, data: bytes) -> None:
    """Arbitrary bytes give an Article or None."""
    check(data, caplog)


@PROPERTY_SETTINGS
@given(html_soup, st.sampled_from(ENCODINGS), st.booleans())
def test_encoded_pages_never_raise(
    caplog: pytest.LogCaptureFixture, html: str, encoding: str, bom: bool
) -> None:
    """Pages in any encoding, with or without a BOM, give an Article or None."""
    data = html.encode(encoding, errors="replace")
    if bom and encoding == "utf-8":
        data = codecs.BOM_UTF8 + data
    check(data, caplog)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=200, max_value=20_000), st.sampled_from(["div", "span", "b", "td"]))
def test_deep_nesting_never_raises(caplog: pytest.LogCaptureFixture, depth: int, tag: str) -> None:
    """Deeply nested elements give an Article or None."""
    html = f"<{tag}>" * depth + "deep text " * 100 + f"</{tag}>" * depth
    check(html, caplog)


def test_ten_megabyte_page_of_one_tag_is_handled(caplog: pytest.LogCaptureFixture) -> None:
    """A 10 MB page of one repeated tag gives an Article or None (its time is in the bench)."""
    html = "<div>" + "<p>word " * (10_000_000 // 8)
    check(html, caplog)
    check(html.encode(), caplog)
