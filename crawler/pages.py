"""What a fetched HTML page is: an article or a listing, its feeds, links, credited original.

The page is parsed once with lxml (`parse_html`) and its anchors resolved in one pass
(`page_anchors`), shared by the in-site links and the credit detection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml import etree

from common.urls import host_of, join_url
from crawler.links import is_fetchable_link, resolve_link, url_origin
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
FIRST_WORD = re.compile(r"\S+")  # \s is what str.split() splits on
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
SKIPPED_HREF_PREFIXES = ("#", "javascript:", "mailto:", "tel:")
JSON_LD_TEXTS = etree.XPath('//script[@type="application/ld+json"]/text()')
OG_TYPE = etree.XPath('//meta[@property="og:type"]/@content')
PUBLISHED_TIME = etree.XPath('//meta[@property="article:published_time"]')
FEED_LINKS = etree.XPath('//link[@rel="alternate"][@href]')
TEXT_CONTENT = etree.XPath("string()")  # what lxml.html's text_content() runs
DECLARED_ORIGINALS = (
    etree.XPath('//link[@rel="canonical"]/@href'),
    etree.XPath('//meta[@property="og:url"]/@content'),
)


class Anchor(NamedTuple):
    """A fetchable <a href> of a page: its absolute URL, the URL's host and the element."""

    url: str
    host: str
    element: etree._Element


def parse_html(page: str | bytes) -> etree._Element:
    """The page's lxml tree (PAGE: its text, or that text in UTF-8), parsed as parsel parses it.

    Plain lxml elements, not lxml.html's: the same tree without a Python class lookup per
    element. UTF-8 bytes are parsed as they are, without encoding the text again.
    """
    if isinstance(page, str):
        page = page.encode("utf-8")
    body = page.strip().replace(b"\x00", b"") or b"<html/>"
    parser = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    root = etree.fromstring(body, parser=parser)
    if root is None:
        root = etree.fromstring(b"<html/>", parser=parser)
    return root


def page_anchors(root: etree._Element, base_url: str) -> list[Anchor]:
    """The page's fetchable links, in document order, each href resolved once."""
    origin = url_origin(base_url)
    resolved: dict[str, tuple[str, str] | None] = {}
    found = []
    for element in root.iter("a"):
        href = element.get("href")
        if href is None:
            continue
        href = href.strip()
        if not href or href.startswith(SKIPPED_HREF_PREFIXES):
            continue
        if href in resolved:
            link = resolved[href]
        else:
            link = resolved[href] = resolve_link(base_url, href, origin)
        if link is not None:
            found.append(Anchor(link[0], link[1], element))
    return found


def _json_ld_types(root: etree._Element) -> set[str]:
    """Lower-cased @type values of the page's JSON-LD blocks, @graph included."""
    types: set[str] = set()
    for raw in JSON_LD_TEXTS(root):
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


def _first(values: list[str]) -> str:
    """The first of an XPath's string results, stripped; "" when there is none."""
    return str(values[0]).strip() if values else ""


def is_article_page(root: etree._Element, url: str) -> bool:
    """Tell an article page from the rest by its metadata, then by its URL."""
    if url_looks_like_listing(url):
        return False
    og_type = _first(OG_TYPE(root)).lower()
    if og_type == "article" or og_type.startswith("article."):
        return True
    if _json_ld_types(root) & ARTICLE_SCHEMA_TYPES:
        return True
    if PUBLISHED_TIME(root):
        return True
    if og_type in ("website", "profile", "video.other", "product"):
        return False
    return bool(ARTICLE_PATH_HINT.search(urlsplit(url).path))


def feed_links(root: etree._Element, base_url: str) -> list[str]:
    """RSS and Atom feeds the page announces with <link rel="alternate">."""
    found = []
    for link in FEED_LINKS(root):
        absolute = join_url(base_url, (link.get("href") or "").strip())
        if absolute and (link.get("type") or "").lower() in FEED_TYPES:
            found.append(absolute)
    return found


def page_links(anchors: list[Anchor]) -> list[str]:
    """The anchors' URLs, fragments dropped, in order, unique."""
    seen: dict[str, None] = {}
    for anchor in anchors:
        seen.setdefault(anchor.url.split("#", 1)[0], None)
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


def _credit_candidates(anchors: list[Anchor], url: str) -> list[Anchor]:
    """The anchors that link to other hosts, share buttons left out."""
    own_host = host_of(url)
    return [a for a in anchors if a.host != own_host and a.host not in SHARE_HOSTS
            and not a.host.endswith(SHARE_SUFFIXES)]


def _text_content(element: etree._Element) -> str:
    """The element's text, descendants included (its own text alone when it has no child)."""
    if len(element):
        return str(TEXT_CONTENT(element))
    return element.text or ""


def _first_word(text: str) -> str:
    """A text's first word (as str.split() cuts it), lower-cased; "" for a blank text."""
    first = FIRST_WORD.search(text)
    return first.group().lower() if first else ""


@dataclass(frozen=True, slots=True)
class _Openings:
    """The first words a folded text starting with one of some markers can have.

    The first word of a multi-word marker exactly (a space follows it), else a word that
    starts with a one-word marker: a cheap test that rules out most link texts and blocks.
    """

    words: frozenset[str]
    stems: tuple[str, ...]

    @classmethod
    def of(cls, markers: tuple[str, ...]) -> _Openings:
        """The openings of MARKERS (lower-cased, single-spaced, as Markers holds them)."""
        return cls(frozenset(m.split(" ", 1)[0] for m in markers if " " in m),
                   tuple(m for m in markers if " " not in m))

    def admit(self, word: str) -> bool:
        """True when a text whose lower-cased first word is WORD may start with a marker."""
        return word in self.words or word.startswith(self.stems)


def _short_block(parent: etree._Element, limit: int, openings: _Openings) -> str | None:
    """The normalized text of an anchor's parent; None when longer than LIMIT characters
    or when its first word cannot open a marker (see _Openings).

    Reads the text piece by piece and stops past the limit: a link inside a long block
    (an article's paragraph, a menu) costs no more than one inside a credit line.
    """
    lead = _first_word(parent.text or "")
    if lead and not openings.admit(lead):
        return None
    words: list[str] = []
    size = 0
    for piece in parent.itertext():
        for word in piece.split():
            if not words and not openings.admit(word.lower()):
                return None
            words.append(word)
            size += len(word) + 1
            if size > limit + 1:
                return None
    return " ".join(words)


def credited_url(root: etree._Element, anchors: list[Anchor], url: str,
                 markers: Markers) -> str | None:
    """The original a page credits on another host: a credit link, else canonical / og:url."""
    candidates = _credit_candidates(anchors, url)
    openings = _Openings.of(markers.credit_prefixes)
    unopened: set[etree._Element] = set()  # childless links whose text opens no marker
    for anchor in candidates:
        text = _text_content(anchor.element)
        first = _first_word(text)
        if openings.admit(first):
            if _fold(text) in markers.credit_prefixes:
                return anchor.url
        elif first and not len(anchor.element):
            unopened.add(anchor.element)
    blocks: dict[etree._Element, str | None] = {}  # anchors often share their parent
    for anchor in candidates:
        parent = anchor.element.getparent()
        if parent is None:
            block: str | None = ""
        elif parent in blocks:
            block = blocks[parent]
        elif (anchor.element in unopened and parent[0] is anchor.element
              and not (parent.text or "").strip()):
            block = blocks[parent] = None  # the block opens with that link's text
        else:
            block = blocks[parent] = _short_block(parent, MAX_CREDIT_LINE + MAX_CREDIT_TRAILER,
                                                  openings)
        if block is None:
            continue
        folded = _fold(block)
        if (
            len(folded) <= MAX_CREDIT_LINE
            and starts_with_marker(folded, markers.credit_prefixes)
            and not starts_with_marker(folded, markers.credit_exclusions)
        ):
            return anchor.url
    own_host = host_of(url)
    for xpath in DECLARED_ORIGINALS:
        value = _first(xpath(root))
        if value:
            absolute = join_url(url, value) or ""
            if host_of(absolute) not in ("", own_host) and is_fetchable_link(absolute):
                return absolute
    return None
