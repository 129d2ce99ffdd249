"""URL helpers shared by discovery and deduplication: hosts, joining, canonical form."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

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
