"""Dedup stage: the keys a story is found by: canonical URL, aliases, body hash, near-duplicate."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata

from scrapy.crawler import Crawler
from sqlalchemy import Engine

from common.urls import canonical_url, host_of
from pipelines.items import PageItem
from pipelines.neardup import (
    NearDuplicateIndex,
    from_bytes,
    permutations,
    signature,
    to_bytes,
)
from pipelines.store import story_stored
from storage.migrate import upgrade_database
from storage.models import AliasKind
from storage.read import iter_signatures
from storage.session import make_engine, make_sessionmaker

logger = logging.getLogger(__name__)

WORD = re.compile(r"\w+", re.UNICODE)
AMP_URL = re.compile(r"(/amp(/|$|\.)|[./]amp\.html?$|[?&](amp|outputType=amp)(=|&|$))", re.I)
PRINT_URL = re.compile(r"(/print(/|$|\.)|[?&](print|printable|view=print)(=|&|$))", re.I)
REINDEXED_OUTCOMES = frozenset({"new", "updated", "revised"})


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


def recorded_url(fetched_url: str, canonical: str) -> str:
    """A URL the store records for a page: its canonical URL, unless the page is an alias page.

    An AMP, print or other alias page does not stand for its canonical URL (it is kept only
    as an alias of its story, by the URL it was fetched at): that URL is the one recorded.
    """
    return canonical if canonical_url(fetched_url) == canonical else fetched_url


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
    """Give each item the keys the store stage merges stories by, near-duplicates included.

    The MinHash LSH index holds every stored story's signature: loaded from the database
    when the spider opens, updated after each committed item (signal story_stored). Items still
    on their way to the store are indexed under a negative pending key, so a copy that
    follows them closely is sent to a URL their story will have (recorded_url).
    """

    def __init__(self, crawler: Crawler, database_url: str | None, threshold: float,
                 shingle_size: int, num_perm: int) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.shingle_size = shingle_size
        self.coefficients = permutations(num_perm)
        self.index = NearDuplicateIndex(threshold, num_perm)
        self.pending: dict[int, str] = {}
        self.engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        """Build the stage from NEWS_DEDUP_* settings and DATABASE_URL."""
        settings = crawler.settings
        pipeline = cls(
            crawler,
            settings.get("DATABASE_URL") or None,
            threshold=settings.getfloat("NEWS_DEDUP_THRESHOLD"),
            shingle_size=settings.getint("NEWS_DEDUP_SHINGLE_SIZE"),
            num_perm=settings.getint("NEWS_DEDUP_NUM_PERM"),
        )
        crawler.signals.connect(pipeline.story_stored, signal=story_stored)
        return pipeline

    def open_spider(self) -> None:
        """Rebuild the near-duplicate index from the stored signatures."""
        if not self.database_url:
            return
        started = time.perf_counter()
        self.engine = make_engine(self.database_url)
        upgrade_database(self.engine)
        with make_sessionmaker(self.engine)() as session:
            loaded, skipped = self.index.load(iter_signatures(session))
        self.engine.dispose()
        logger.info("Near-duplicate index: %d stored stories in %.2f s",
                    loaded, time.perf_counter() - started)
        if skipped:
            logger.warning("Near-duplicate index: %d stored signatures skipped (not %d "
                           "permutations: NEWS_DEDUP_NUM_PERM changed since they were stored)",
                           skipped, self.index.num_perm)

    def process_item(self, item: PageItem) -> PageItem:
        """Set canonical_url, aliases and their kinds, content_hash, minhash, near_duplicate_of."""
        assert item.article is not None
        item.canonical_url = story_url(item.url, item.article.canonical_url)
        item.aliases = alias_urls(item.canonical_url, item.request_url, item.url)
        item.alias_kinds = {a: alias_kind(a, item.canonical_url, item.request_url, item.url)
                            for a in item.aliases}
        normalized = normalize_body(item.article.text)
        item.content_hash = normalized_hash(normalized)
        sig = signature(normalized.split(), self.shingle_size, self.coefficients)
        if sig is None:
            return item
        item.minhash = to_bytes(sig)
        match = self.index.best_match(sig)
        if match is None:
            pending = -1 - len(self.pending)
            self.pending[pending] = recorded_url(item.url, item.canonical_url)
            self.index.put(pending, sig)
            item.pending_key = pending
            return item
        self.crawler.stats.inc_value("news/dedup/near_duplicate_candidates")
        if match[0] < 0:
            item.near_duplicate_url = self.pending[match[0]]
        else:
            item.near_duplicate_of = match[0]
        logger.debug("%s is a near-duplicate of %s (similarity %.2f)", item.canonical_url,
                     item.near_duplicate_url or f"story {match[0]}", match[1])
        return item

    def story_stored(self, item: object) -> None:
        """Index a stored story's new main version (in place of the item's pending entry)."""
        if not isinstance(item, PageItem) or item.story_id is None or item.minhash is None:
            return
        if item.pending_key is not None and item.pending_key in self.index.signatures:
            self.index.remove(item.pending_key)
        if item.outcome in REINDEXED_OUTCOMES or item.story_id not in self.index.signatures:
            self.index.put(item.story_id, from_bytes(item.minhash))
