"""Dedup stage: the keys a story is found by: canonical URL, aliases and a body hash."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from scrapy.crawler import Crawler

from crawler.items import PageItem
from crawler.urls import canonical_url, host_of

WORD = re.compile(r"\w+", re.UNICODE)


def normalize_body(text: str) -> str:
    """The body reduced to its words: NFKC, case-folded, punctuation and spacing dropped."""
    return " ".join(WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(text: str) -> str:
    """SHA-256 of the normalized body: equal for copies that differ only in markup or spacing."""
    return hashlib.sha256(normalize_body(text).encode("utf-8")).hexdigest()


def story_url(fetched_url: str, declared_canonical: str | None) -> str:
    """The canonical URL of a fetched page: its rel=canonical when on the same host."""
    fetched = canonical_url(fetched_url)
    if declared_canonical:
        declared = canonical_url(declared_canonical)
        if host_of(declared) == host_of(fetched):
            return declared
    return fetched


def alias_urls(canonical: str, *seen: str) -> list[str]:
    """URLs a page was also reached at (before redirects, with tracking), in order, unique."""
    aliases: dict[str, None] = {}
    for url in seen:
        if url and url != canonical:
            aliases.setdefault(url, None)
    return list(aliases)


class DedupPipeline:
    """Give each item the keys the store stage merges stories by."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        """Build the stage."""
        return cls(crawler)

    def process_item(self, item: PageItem) -> PageItem:
        """Set canonical_url, aliases and content_hash."""
        assert item.article is not None
        item.canonical_url = story_url(item.url, item.article.canonical_url)
        item.aliases = alias_urls(item.canonical_url, item.request_url, item.url)
        item.content_hash = content_hash(item.article.text)
        return item
