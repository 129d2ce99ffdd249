"""URL helpers shared by discovery and deduplication: hosts, fetchability, canonical form."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

SKIPPED_EXTENSIONS = frozenset(
    {
        "pdf", "jpg", "jpeg", "png", "gif", "webp", "svg", "bmp", "ico", "tif", "tiff",
        "mp3", "mp4", "m4a", "avi", "mov", "webm", "ogg", "wav", "flac",
        "zip", "gz", "tgz", "rar", "7z", "exe", "dmg", "apk", "iso",
        "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "css", "js", "json", "woff", "woff2",
    }
)
# Links resolved against a site's origin kept for reuse on the site's other pages.
RESOLVED_CACHE_SIZE = 16384
CANONICAL_CACHE_SIZE = 4096
TRACKING_PARAM = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|"
    r"_ga|_gl|ref_src|cmpid|ocid)$",
    re.IGNORECASE,
)


def host_of(url: str) -> str:
    """The lower-cased host name of a URL, without port; "" for a malformed one."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def join_url(base_url: str, href: str) -> str | None:
    """A link made absolute; None when it is malformed (a broken IPv6 host, a port > 65535)."""
    try:
        joined = urljoin(base_url, href)
        _ = urlsplit(joined).port
    except ValueError:
        return None
    return joined


def _fetchable(parts: SplitResult) -> bool:
    """True for the parts of an http(s) URL with a host whose file is no media or document."""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    last = parts.path.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return ext not in SKIPPED_EXTENSIONS


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


def strip_tracking(url: str) -> str:
    """The URL without utm_*, fbclid, gclid and similar tracking parameters."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not TRACKING_PARAM.match(k)]
    return urlunsplit(parts._replace(query=urlencode(kept)))


@lru_cache(maxsize=CANONICAL_CACHE_SIZE)
def canonical_url(url: str) -> str:
    """One spelling per URL: host case, default port, sorted query, no tracking or fragment.

    Cached: a page's URL is canonicalized by the dedup stage, the store and the
    incremental middleware in turn.
    """
    canonical = canonicalize_url(strip_tracking(url.strip()), keep_fragments=False)
    parts = urlsplit(canonical)
    host = (parts.hostname or "").lower()
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit(parts._replace(netloc=netloc, path=parts.path or "/"))


def robots_txt_url(url: str) -> str:
    """The robots.txt URL of a URL's scheme, host and port."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
