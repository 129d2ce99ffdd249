"""URL canonicalization and link filtering."""

from __future__ import annotations

import pytest

from common.urls import (
    canonical_url,
    host_of,
    is_fetchable_link,
    join_url,
    resolve_link,
    robots_txt_url,
    strip_tracking,
    url_origin,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a?b=2&a=1#top", "http://example.com/a?a=1&b=2"),
        ("https://example.com:443/x.html?utm_source=rss&utm_medium=feed",
         "https://example.com/x.html"),
        ("https://example.com/x?fbclid=abc&gclid=1&id=7", "https://example.com/x?id=7"),
        ("https://example.com", "https://example.com/"),
        ("http://127.0.0.2:8080/p.html", "http://127.0.0.2:8080/p.html"),
        ("https://vi.example/tin-t%E1%BB%A9c", "https://vi.example/tin-t%E1%BB%A9c"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    url = "https://EXAMPLE.com/a/b/?z=1&utm_campaign=x&a=&y=2#frag"
    assert canonical_url(canonical_url(url)) == canonical_url(url)


def test_strip_tracking_keeps_real_parameters() -> None:
    assert strip_tracking("https://e.x/a?page=2&utm_term=x") == "https://e.x/a?page=2"
    assert strip_tracking("https://e.x/a") == "https://e.x/a"


@pytest.mark.parametrize(
    ("url", "fetchable"),
    [
        ("https://e.x/story.html", True),
        ("https://e.x/report.PDF", False),
        ("https://e.x/img/photo.jpg", False),
        ("mailto:a@e.x", False),
        ("https://e.x/section/", True),
    ],
)
def test_is_fetchable_link(url: str, fetchable: bool) -> None:
    assert is_fetchable_link(url) is fetchable


def test_host_and_robots() -> None:
    assert host_of("https://WWW.Example.com:8443/x") == "www.example.com"
    assert robots_txt_url("http://127.0.0.2:81/a/b?c") == "http://127.0.0.2:81/robots.txt"


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
