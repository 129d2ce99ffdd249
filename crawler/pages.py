"""What a fetched HTML page is: an article or a listing, its feeds, its credited original."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from parsel import Selector

from crawler.urls import host_of, is_fetchable_link, join_url
from pipelines.markers import Markers

ARTICLE_SCHEMA_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
    }
)
NON_ARTICLE_PATH = re.compile(
    r"/(tag|tags|topic|topics|category|categories|section|sections|author|authors|"
    r"page|search|gallery|galleries|video|videos|archive|login|register|subscribe)(/|$)",
    re.IGNORECASE,
)
NON_ARTICLE_QUERY = re.compile(r"(^|&)(page|p|q|query|s)=", re.IGNORECASE)
ARTICLE_PATH_HINT = re.compile(
    r"(/\d{4}/\d{1,2}/)|(\d{5,})|([\w]+-[\w]+-[\w]+-[\w]+)|(\.s?html?$)", re.IGNORECASE
)
MAX_CREDIT_LINE = 160
MAX_CREDIT_TRAILER = 16  # room for the trailing colons _fold strips
SHARE_HOSTS = frozenset(
    {
        "facebook.com", "twitter.com", "x.com", "t.co", "linkedin.com", "pinterest.com",
        "reddit.com", "instagram.com", "youtube.com", "youtu.be", "tiktok.com", "zalo.me",
        "t.me", "telegram.me", "whatsapp.com", "wa.me", "news.google.com", "plus.google.com",
    }
)
SHARE_SUFFIXES = tuple(sorted("." + host for host in SHARE_HOSTS))
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


def _json_ld_types(selector: Selector) -> set[str]:
    """Lower-cased @type values of the page's JSON-LD blocks, @graph included."""
    types: set[str] = set()
    for raw in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                value = node.get("@type")
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        types.add(item.lower())
                if isinstance(node.get("@graph"), list):
                    stack.extend(node["@graph"])
    return types


def url_looks_like_listing(url: str) -> bool:
    """True for home, section, tag, author, pagination, search and gallery URLs."""
    parts = urlsplit(url)
    return parts.path in ("", "/") or bool(
        NON_ARTICLE_PATH.search(parts.path) or NON_ARTICLE_QUERY.search(parts.query)
    )


def is_article_page(selector: Selector, url: str) -> bool:
    """Tell an article page from the rest by its metadata, then by its URL."""
    if url_looks_like_listing(url):
        return False
    og_type = (selector.xpath('//meta[@property="og:type"]/@content').get() or "").strip().lower()
    if og_type == "article" or og_type.startswith("article."):
        return True
    if _json_ld_types(selector) & ARTICLE_SCHEMA_TYPES:
        return True
    if selector.xpath('//meta[@property="article:published_time"]'):
        return True
    if og_type in ("website", "profile", "video.other", "product"):
        return False
    return bool(ARTICLE_PATH_HINT.search(urlsplit(url).path))


def feed_links(selector: Selector, base_url: str) -> list[str]:
    """RSS and Atom feeds the page announces with <link rel="alternate">."""
    found = []
    for link in selector.xpath('//link[@rel="alternate"][@href]'):
        absolute = join_url(base_url, (link.root.get("href") or "").strip())
        if absolute and (link.root.get("type") or "").lower() in FEED_TYPES:
            found.append(absolute)
    return found


def page_links(selector: Selector, base_url: str) -> list[str]:
    """Absolute, fetchable <a href> links of a page, fragments dropped, in order, unique."""
    seen: dict[str, None] = {}
    for href in selector.xpath("//a/@href").getall():
        href = href.strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        absolute = join_url(base_url, href)
        if absolute and is_fetchable_link(absolute):
            seen.setdefault(absolute.split("#", 1)[0], None)
    return list(seen)


def _fold(text: str) -> str:
    """Lower-cased text with collapsed spaces and no trailing colon, for marker comparison."""
    return " ".join(text.split()).rstrip(":：").strip().lower()


def starts_with_marker(folded: str, markers: tuple[str, ...]) -> bool:
    """True when folded text starts with a marker as a whole word ("theo" is not "theory")."""
    for marker in markers:
        if folded.startswith(marker):
            rest = folded[len(marker):]
            if not rest or not rest[0].isalnum() or not marker[-1].isalnum():
                return True
    return False


def _credit_candidates(selector: Selector, url: str) -> list[tuple[str, Selector]]:
    """(href, anchor) for links to other hosts."""
    own_host = host_of(url)
    found = []
    for anchor in selector.xpath("//a[@href]"):
        href = join_url(url, (anchor.root.get("href") or "").strip()) or ""
        host = host_of(href)
        if host in ("", own_host) or host in SHARE_HOSTS or not is_fetchable_link(href):
            continue
        if host.endswith(SHARE_SUFFIXES):
            continue
        found.append((href, anchor))
    return found


def _short_block(anchor: Selector, limit: int) -> str | None:
    """The normalized text of the anchor's parent, or None when longer than LIMIT characters.

    Reads the text piece by piece and stops past the limit: a link inside a long block
    (an article's paragraph, a menu) costs no more than one inside a credit line.
    """
    parent = anchor.root.getparent()
    if parent is None:
        return ""
    words: list[str] = []
    size = 0
    for piece in parent.itertext():
        for word in piece.split():
            words.append(word)
            size += len(word) + 1
            if size > limit + 1:
                return None
    return " ".join(words)


def credited_url(selector: Selector, url: str, markers: Markers) -> str | None:
    """The original a page credits on another host: a credit link, else canonical / og:url."""
    candidates = _credit_candidates(selector, url)
    for href, anchor in candidates:
        if _fold(anchor.root.text_content()) in markers.credit_prefixes:
            return href
    for href, anchor in candidates:
        block = _short_block(anchor, MAX_CREDIT_LINE + MAX_CREDIT_TRAILER)
        if block is None:
            continue
        folded = _fold(block)
        if (
            len(folded) <= MAX_CREDIT_LINE
            and starts_with_marker(folded, markers.credit_prefixes)
            and not starts_with_marker(folded, markers.credit_exclusions)
        ):
            return href
    own_host = host_of(url)
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        value = (selector.xpath(xpath).get() or "").strip()
        if value:
            absolute = join_url(url, value) or ""
            if host_of(absolute) not in ("", own_host) and is_fetchable_link(absolute):
                return absolute
    return None
