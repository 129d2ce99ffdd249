"""The keys stories are merged by: canonical URL, aliases and body hash."""

from __future__ import annotations

import datetime as dt

from crawler.incremental import KnownUrl, conditional_headers, known_urls
from pipelines.dedup import (
    alias_kind,
    alias_urls,
    content_hash,
    normalize_body,
    story_url,
)

T0 = dt.datetime(2024, 8, 14, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)


def test_normalize_body_ignores_case_spacing_and_punctuation() -> None:
    assert normalize_body("Hello,  World!\n\nNew  para.") == "hello world new para"
    assert content_hash("Hello, World!") == content_hash("hello world")
    assert content_hash("Hello, World!") != content_hash("Hello, Word!")


def test_story_url_honours_same_host_canonical() -> None:
    fetched = "https://agg.example/a.html?utm_source=rss"
    assert story_url(fetched, None) == "https://agg.example/a.html"
    assert story_url(fetched, "https://agg.example/a-canonical.html") == (
        "https://agg.example/a-canonical.html"
    )
    assert story_url(fetched, "https://other.example/a.html") == "https://agg.example/a.html"


def test_alias_urls() -> None:
    canonical = "https://agg.example/a.html"
    assert alias_urls(canonical, "https://agg.example/a.html?utm_source=rss", canonical,
                      "https://agg.example/a.html?utm_source=rss") == [
        "https://agg.example/a.html?utm_source=rss"
    ]


def test_alias_kinds() -> None:
    main = "https://g.example/news/2024/09/03/library.html"
    assert alias_kind(f"{main}?utm_source=rss", main, f"{main}?utm_source=rss", main) == (
        "tracking")
    amp = "https://g.example/amp/library.html"
    assert alias_kind(amp, main, amp, amp) == "amp"
    assert alias_kind(f"{main}?outputType=amp", main, main, main) == "amp"
    assert alias_kind("https://g.example/print/library.html", main, main, main) == "print"
    short = "https://g.example/s/123"
    assert alias_kind(short, main, short, main) == "redirect"
    assert alias_kind("https://g.example/library-old.html", main, main, main) == "canonical"


def test_known_urls_and_conditional_headers() -> None:
    url = "https://g.example/a.html"
    known = known_urls([(f"{url}?utm_source=x", T1, None, None), (url, T0, '"e"', "Wed")])
    assert known[url] == KnownUrl(f"{url}?utm_source=x", T1, None, None)
    assert conditional_headers(KnownUrl(url, T0, '"e"', "Wed")) == {
        "If-None-Match": '"e"', "If-Modified-Since": "Wed"}
    assert conditional_headers(KnownUrl(url, T0, None, None)) == {}
