"""Dedup stage: the keys a story is found by: canonical URL, aliases, body hash, near-duplicate."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from scrapy.crawler import Crawler

from common.urls import canonical_url, host_of
from pipelines.items import PageItem
from pipelines.neardup import NearDuplicateFinder, permutations, signature, to_bytes
from storage.models import AliasKind

WORD = re.compile(r"\w+", re.UNICODE)
AMP_URL = re.compile(r"(/amp(/|$|\.)|[./]amp\.html?$|[?&](amp|outputType=amp)(=|&|$))", re.I)
PRINT_URL = re.compile(r"(/print(/|$|\.)|[?&](print|printable|view=print)(=|&|$))", re.I)


def normalize_body(text: str) -> str:
    """The body reduced to its words: NFKC, case-folded, punctuation and spacing dropped."""
    return " ".join(WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(text: str) -> str:
    """SHA-256 of the normalized body: equal for copies that differ only in markup or spacing."""
    return normalized_hash(normalize_body(text))


def normalized_hash(normalized: str) -> str:
    """SHA-256 hex digest of an already normalized body."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


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


def alias_kind(alias: str, canonical: str, request_url: str, fetched_url: str) -> AliasKind:
    """What an alias is: tracking variant, AMP, print, redirect, else another canonical."""
    if canonical_url(alias) == canonical:
        return AliasKind.TRACKING
    if AMP_URL.search(alias):
        return AliasKind.AMP
    if PRINT_URL.search(alias):
        return AliasKind.PRINT
    if alias == request_url and canonical_url(request_url) != canonical_url(fetched_url):
        return AliasKind.REDIRECT
    return AliasKind.CANONICAL


class DedupPipeline:
    """Give each item the keys the store stage merges stories by: URLs, body hash, signature.

    The near-duplicate match itself is made by the store stage, in the transaction that
    writes the item, from the band keys set here (pipelines/neardup.py): nothing of the
    archive is loaded, and an item finds the stories written just before it.
    """

    def __init__(self, crawler: Crawler, threshold: float, shingle_size: int,
                 num_perm: int) -> None:
        self.crawler = crawler
        self.shingle_size = shingle_size
        self.coefficients = permutations(num_perm)
        self.finder = NearDuplicateFinder(threshold, num_perm)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        """Build the stage from NEWS_DEDUP_* settings."""
        settings = crawler.settings
        return cls(
            crawler,
            threshold=settings.getfloat("NEWS_DEDUP_THRESHOLD"),
            shingle_size=settings.getint("NEWS_DEDUP_SHINGLE_SIZE"),
            num_perm=settings.getint("NEWS_DEDUP_NUM_PERM"),
        )

    def process_item(self, item: PageItem) -> PageItem:
        """Set canonical_url, aliases and their kinds, content_hash, minhash and its bands."""
        assert item.article is not None
        item.canonical_url = story_url(item.url, item.article.canonical_url)
        item.aliases = alias_urls(item.canonical_url, item.request_url, item.url)
        item.alias_kinds = {a: alias_kind(a, item.canonical_url, item.request_url, item.url)
                            for a in item.aliases}
        normalized = normalize_body(item.article.text)
        item.content_hash = normalized_hash(normalized)
        sig = signature(normalized.split(), self.shingle_size, self.coefficients)
        if sig is not None:
            item.minhash = to_bytes(sig)
            item.bands = self.finder.band_keys(sig)
        return item
