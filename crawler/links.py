"""Which links the crawl fetches: well-formed http(s) URLs that are not media or documents.

The extensions skipped are Scrapy's link extractors' (`scrapy.linkextractors.IGNORED_EXTENSIONS`),
except those of discovery documents: a link to a feed is fetched and read by what it holds.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit

from scrapy.linkextractors import IGNORED_EXTENSIONS

# Discovery documents, read by content (crawler/feeds.py), however the URL ends.
DISCOVERY_EXTENSIONS = frozenset({"rss"})
SKIPPED_SUFFIXES = tuple(sorted(
    "." + ext for ext in set(IGNORED_EXTENSIONS) - DISCOVERY_EXTENSIONS))
# Links resolved against a site's origin kept for reuse on the site's other pages.
RESOLVED_CACHE_SIZE = 16384


def _fetchable(parts: SplitResult) -> bool:
    """True for the parts of an http(s) URL with a host whose file is no media or document."""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    last = parts.path.rsplit("/", 1)[-1]
    return "." not in last or not last.lower().endswith(SKIPPED_SUFFIXES)


def fetchable_host(url: str) -> str | None:
    """The lower-cased host of a fetchable link (see is_fetchable_link); None for any other."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return (parts.hostname or "").lower() if _fetchable(parts) else None


def is_fetchable_link(url: str) -> bool:
    """True for well-formed http(s) links that are not media, documents or archives."""
    return fetchable_host(url) is not None


def _resolve(base_url: str, href: str) -> tuple[str, str] | None:
    """(absolute URL, host) of a link join_url makes fetchable; None for any other."""
    try:
        joined = urljoin(base_url, href)
        parts = urlsplit(joined)
        _ = parts.port
    except ValueError:
        return None
    if not _fetchable(parts):
        return None
    return joined, (parts.hostname or "").lower()


@lru_cache(maxsize=RESOLVED_CACHE_SIZE)
def _resolve_from_origin(origin: str, href: str) -> tuple[str, str] | None:
    """_resolve for links whose resolution depends only on the base's scheme and host."""
    return _resolve(origin, href)


def url_origin(url: str) -> str | None:
    """"scheme://host[:port]/" of an http(s) URL, None for any other."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def resolve_link(base_url: str, href: str, origin: str | None) -> tuple[str, str] | None:
    """(absolute URL, host) of a link that join_url makes fetchable; None for any other.

    The same answer as join_url, is_fetchable_link and host_of together, splitting the URL
    once. ORIGIN is url_origin(base_url): a root-relative or absolute http(s) link resolves
    against it as against the base itself, so those (a site's menus, repeated on every
    page) are resolved once per crawl.
    """
    if origin is not None and href.startswith(("/", "http://", "https://")):
        return _resolve_from_origin(origin, href)
    return _resolve(base_url, href)


