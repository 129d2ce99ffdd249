"""URL canonicalization and link filtering."""

from __future__ import annotations

import pytest

from common.urls import canonical_url, host_of, robots_txt_url, strip_tracking


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


def test_host_and_robots() -> None:
    assert host_of("https://WWW.Example.com:8443/x") == "www.example.com"
    assert robots_txt_url("http://127.0.0.2:81/a/b?c") == "http://127.0.0.2:81/robots.txt"
