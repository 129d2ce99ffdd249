"""Discovery documents: robots.txt Sitemap lines, sitemaps and RSS/Atom feeds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lxml import etree

from common.urls import join_url

logger = logging.getLogger(__name__)

MAX_DISCOVERY_BYTES = 50 * 1024 * 1024
_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class SitemapLinks:
    """What a sitemap lists: further sitemaps (an index) or pages (a urlset)."""

    sitemaps: list[str]
    pages: list[str]


def robots_sitemaps(robots_txt: str, base_url: str) -> list[str]:
    """The absolute URLs named on `Sitemap:` lines of a robots.txt."""
    found = []
    for line in robots_txt.splitlines():
        key, _, value = line.partition(":")
        url = join_url(base_url, value.strip()) if key.strip().lower() == "sitemap" else None
        if url and value.strip():
            found.append(url)
    return found


def _parse_xml(body: bytes) -> etree._Element | None:
    """Parse an XML document leniently; None when it holds nothing parseable."""
    if not body.strip():
        return None
    try:
        root = etree.fromstring(body[:MAX_DISCOVERY_BYTES], parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    return root


def _local(tag: object) -> str:
    """An element's tag without its namespace."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def parse_sitemap(body: bytes, base_url: str) -> SitemapLinks:
    """Read a sitemap index or urlset (Google News sitemaps included)."""
    root = _parse_xml(body)
    if root is None:
        return SitemapLinks([], [])
    kind = _local(root.tag)
    locs: list[str] = []
    for entry in root:
        if _local(entry.tag) not in ("sitemap", "url"):
            continue
        for child in entry:
            if _local(child.tag) == "loc" and child.text and child.text.strip():
                url = join_url(base_url, child.text.strip())
                if url:
                    locs.append(url)
                break
    if kind == "sitemapindex":
        return SitemapLinks(sitemaps=locs, pages=[])
    return SitemapLinks(sitemaps=[], pages=locs)


def parse_feed(body: bytes, base_url: str) -> list[str]:
    """The article links of an RSS 2.0, RSS 1.0 or Atom feed, in document order."""
    root = _parse_xml(body)
    if root is None:
        return []
    links: list[str] = []
    for element in root.iter():
        name = _local(element.tag)
        if name not in ("item", "entry"):
            continue
        for child in element:
            if _local(child.tag) != "link":
                continue
            href = child.get("href")
            if href and child.get("rel", "alternate") == "alternate":
                url = join_url(base_url, href.strip())
            elif child.text and child.text.strip():
                url = join_url(base_url, child.text.strip())
            else:
                continue
            if url:
                links.append(url)
            break
    return links
