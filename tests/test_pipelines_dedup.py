"""The keys stories are merged by: canonical URL, aliases and body hash."""

from __future__ import annotations

from pipelines.dedup import alias_urls, content_hash, normalize_body, story_url


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
