"""Discovery documents, read by what they hold: sitemaps, feeds, robots.txt Sitemap lines.

A URL named as a sitemap may serve a feed, a feed's URL may serve HTML, and any of them may
be gzipped or carry a byte order mark: `sniff` tells the kind from the first bytes, whatever
the URL's extension or the response's Content-Type says. Sitemaps (index, urlset, Google
News) are read with Scrapy's `Sitemap`; RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom with lxml's
`iterparse`, element by element; JSON Feed with `json`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import gzip
import json
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from lxml import etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from common.urls import join_url

logger = logging.getLogger(__name__)

# The sitemap protocol's limits: 50 MB uncompressed and 50,000 URLs a file.
MAX_DISCOVERY_BYTES = 50 * 1024 * 1024
MAX_URLS_PER_DOCUMENT = 50_000
SNIFF_BYTES = 4096
GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# What may come before a document's root element: declarations, comments, a DOCTYPE.
PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.S | re.I)
ROOT_TAG = re.compile(r"\s*<([A-Za-z_][\w:.-]*)")
FEED_ITEMS = frozenset({"item", "entry"})
FEED_DATES = ("published", "pubdate", "date", "issued", "updated", "modified")


class DocumentKind(enum.StrEnum):
    """What a discovery document is, from its content."""

    SITEMAP_INDEX = "sitemap index"
    URLSET = "sitemap"
    TEXT_SITEMAP = "text sitemap"
    RSS = "RSS"
    RDF = "RSS 1.0"
    ATOM = "Atom"
    JSON_FEED = "JSON Feed"
    HTML = "HTML"
    UNKNOWN = "unknown"


XML_ROOTS = {
    "sitemapindex": DocumentKind.SITEMAP_INDEX,
    "urlset": DocumentKind.URLSET,
    "rss": DocumentKind.RSS,
    "rdf": DocumentKind.RDF,
    "feed": DocumentKind.ATOM,
}
FEED_KINDS = frozenset({DocumentKind.RSS, DocumentKind.RDF, DocumentKind.ATOM,
                        DocumentKind.JSON_FEED})


@dataclass(frozen=True, slots=True)
class Entry:
    """A URL a discovery document lists, with its last modification or publication date."""

    url: str
    date: dt.datetime | None = None


@dataclass(frozen=True)
class Discovery:
    """What a discovery document lists: further sitemaps, pages, and whether it was cut."""

    kind: DocumentKind
    sitemaps: list[Entry]
    pages: list[Entry]
    truncated: bool = False


class UnreadableDocument(ValueError):
    """A gzipped document that is corrupt or unpacks to more than the protocol allows."""


def robots_sitemaps(robots_txt: bytes, base_url: str) -> list[str]:
    """The absolute http(s) URLs named on `Sitemap:` lines of a robots.txt (Scrapy's reader)."""
    found = []
    for line in robots_txt.splitlines():
        try:
            urls = list(sitemap_urls_from_robots(line, base_url=base_url))
        except ValueError:  # urljoin refuses a malformed host ("http://[::1")
            continue
        for url in urls:
            absolute = join_url(base_url, url) if url else None
            if absolute and absolute.startswith(("http://", "https://")):
                found.append(absolute)
    return found


def unpack(body: bytes, max_size: int = MAX_DISCOVERY_BYTES) -> bytes:
    """The document inside a gzip file (a .gz sitemap served as is), else the body itself."""
    if not body.startswith(GZIP_MAGIC):
        return body
    try:
        return gunzip(body, max_size=max_size)
    except (OSError, EOFError, ValueError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnreadableDocument(f"corrupt gzip, or over {max_size} bytes unpacked: {exc}"
                                 ) from exc


def _head_text(body: bytes) -> str:
    """The document's first bytes as text, byte order mark and leading spaces dropped."""
    head = body[:SNIFF_BYTES]
    encoding = "utf-16" if head.startswith(UTF16_BOMS) else "utf-8"
    return head.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n\x00")


def sniff(body: bytes) -> DocumentKind:
    """The kind of an (unpacked) document, from its root element or first characters."""
    text = _head_text(body)
    if text.startswith("{"):
        return DocumentKind.JSON_FEED
    if text.startswith("<"):
        position = 0
        while prolog := PROLOG.match(text, position):
            if prolog.group(1).lower().startswith("<!doctype html"):
                return DocumentKind.HTML
            position = prolog.end()
        root = ROOT_TAG.match(text, position)
        if root is None:
            return DocumentKind.UNKNOWN
        local = root.group(1).rsplit(":", 1)[-1].lower()
        return XML_ROOTS.get(local, DocumentKind.HTML)
    first_line = text.split("\n", 1)[0].strip()
    if first_line.startswith(("http://", "https://")):
        return DocumentKind.TEXT_SITEMAP
    return DocumentKind.UNKNOWN


def parse_date(value: str | None) -> dt.datetime | None:
    """A W3C (ISO 8601) or RFC 822 date as an aware datetime (UTC when it names no zone)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _sitemap(body: bytes, base_url: str, kind: DocumentKind, limit: int) -> Discovery:
    """A sitemap index or urlset (Google News sitemaps included), read by Scrapy's Sitemap."""
    locs: list[Entry] = []
    truncated = False
    try:
        for entry in Sitemap(body):
            url = join_url(base_url, entry.get("loc", "").strip())
            if not url:
                continue
            if len(locs) >= limit:
                truncated = True
                break
            locs.append(Entry(url, parse_date(entry.get("lastmod"))))
    except (etree.XMLSyntaxError, StopIteration, ValueError):
        pass
    if kind is DocumentKind.SITEMAP_INDEX:
        return Discovery(kind, locs, [], truncated)
    return Discovery(kind, [], locs, truncated)


def _local(tag: object) -> str:
    """An element's tag without its namespace, lower-cased."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _item_link(item: etree._Element, base_url: str) -> str | None:
    """The page an RSS item or Atom entry links to: its alternate link, else a permalink guid."""
    guid = None
    for child in item:
        name = _local(child.tag)
        if name == "link":
            href = child.get("href")
            if href is not None:
                if child.get("rel", "alternate") == "alternate" and href.strip():
                    return join_url(base_url, href.strip())
            elif child.text and child.text.strip():
                return join_url(base_url, child.text.strip())
        elif name == "guid" and child.get("isPermaLink", "true") == "true" and child.text:
            guid = child.text.strip()
    about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    for candidate in (guid, about):
        if candidate and candidate.startswith(("http://", "https://")):
            return join_url(base_url, candidate)
    return None


def _item_date(item: etree._Element) -> dt.datetime | None:
    """The item's publication (else update) date."""
    dates = {_local(child.tag): child.text for child in item if _local(child.tag) in FEED_DATES}
    for name in FEED_DATES:
        if parsed := parse_date(dates.get(name)):
            return parsed
    return None


def _feed_items(body: bytes) -> Iterator[etree._Element]:
    """The item and entry elements of an XML feed, each cleared once read."""
    events = etree.iterparse(BytesIO(body), events=("end",), recover=True,
                             resolve_entities=False, no_network=True, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        for _, element in events:
            if _local(element.tag) in FEED_ITEMS:
                yield element
                element.clear()
    except etree.XMLSyntaxError:
        return


def _xml_feed(body: bytes, base_url: str, kind: DocumentKind, limit: int) -> Discovery:
    """The entries of an RSS 0.9x/2.0, RSS 1.0 or Atom feed, in document order."""
    entries: list[Entry] = []
    for item in _feed_items(body):
        url = _item_link(item, base_url)
        if not url:
            continue
        if len(entries) >= limit:
            return Discovery(kind, [], entries, truncated=True)
        entries.append(Entry(url, _item_date(item)))
    return Discovery(kind, [], entries)


def _json_feed(body: bytes, base_url: str, limit: int) -> Discovery:
    """The items of a JSON Feed (jsonfeed.org, versions 1 and 1.1)."""
    try:
        data = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError):
        data = None
    items = data.get("items") if isinstance(data, dict) else None
    entries: list[Entry] = []
    for item in items if isinstance(items, list) else []:
        raw = item.get("url") if isinstance(item, dict) else None
        url = join_url(base_url, raw.strip()) if isinstance(raw, str) and raw.strip() else None
        if not url:
            continue
        if len(entries) >= limit:
            return Discovery(DocumentKind.JSON_FEED, [], entries, truncated=True)
        date = item.get("date_published") or item.get("date_modified")
        entries.append(Entry(url, parse_date(date) if isinstance(date, str) else None))
    return Discovery(DocumentKind.JSON_FEED, [], entries)


def _text_sitemap(body: bytes, base_url: str, limit: int) -> Discovery:
    """A text sitemap: one URL a line."""
    entries: list[Entry] = []
    for line in body.decode("utf-8", errors="ignore").lstrip("\ufeff").splitlines():
        line = line.strip()
        url = join_url(base_url, line) if line.startswith(("http://", "https://")) else None
        if not url:
            continue
        if len(entries) >= limit:
            return Discovery(DocumentKind.TEXT_SITEMAP, [], entries, truncated=True)
        entries.append(Entry(url))
    return Discovery(DocumentKind.TEXT_SITEMAP, [], entries)


def read_document(body: bytes, base_url: str, limit: int = MAX_URLS_PER_DOCUMENT) -> Discovery:
    """What an unpacked discovery document lists, read by its kind (see sniff).

    HTML and unknown documents list nothing here (the spider reads HTML as a page); at most
    LIMIT URLs are read, and `truncated` says when the document held more.
    """
    kind = sniff(body)
    if kind in (DocumentKind.SITEMAP_INDEX, DocumentKind.URLSET):
        return _sitemap(body, base_url, kind, limit)
    if kind in (DocumentKind.RSS, DocumentKind.RDF, DocumentKind.ATOM):
        return _xml_feed(body, base_url, kind, limit)
    if kind is DocumentKind.JSON_FEED:
        return _json_feed(body, base_url, limit)
    if kind is DocumentKind.TEXT_SITEMAP:
        return _text_sitemap(body, base_url, limit)
    return Discovery(kind, [], [])
