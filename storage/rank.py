"""The main-version order: which of a story's versions is its main version (docs/dedup.md).

A total order over versions (tier, earliest published, longest body, URL, own fields), so a
story's main version does not depend on the order its versions arrived in. The store keeps
only the main version; main_tier reads its tier back from the story row.
"""

from __future__ import annotations

import enum
import math

from common.urls import host_of
from storage.models import Story, UrlRelation
from storage.records import ArticleRecord


class Tier(enum.IntEnum):
    """The first key of the main-version order, best first (docs/dedup.md)."""

    CREDITED_ORIGINAL = 0  # fetched at the URL the story's copies credit
    CREDITED_VARIANT = 1  # an AMP, print or other alias page of the credited original
    CREDITING_COPY = 2  # a copy crediting the original: it stands in for it
    PAGE = 3  # a page fetched at its own URL, crediting no one
    VARIANT = 4  # an AMP, print or other alias page of such a page


Rank = tuple[int, float, int, str, str, str, str, tuple[str, ...], str, str, str, float]


def rank(tier: Tier, url: str, version: Story | ArticleRecord) -> Rank:
    """A version's place in the main-version order; the smallest is the main version.

    The tier, then the earliest published (undated last), the longest body, the URL the
    story takes, then the version's own fields: versions of equal rank give equal stories.
    """
    published = version.published_at.timestamp() if version.published_at else math.inf
    probability = version.language_probability
    return (tier, published, -len(version.text), url, version.content_hash, version.site,
            version.title, tuple(version.authors or ()), version.publisher or "",
            version.language or "", version.language_method or "",
            -1.0 if probability is None else probability)


def record_tier(record: ArticleRecord, credited: str | None) -> Tier:
    """The record's tier in a story whose copies credit CREDITED (None: no credit)."""
    if record.relation is UrlRelation.AGGREGATOR:
        return Tier.CREDITING_COPY
    if credited is not None and record.url == credited:
        return Tier.CREDITED_VARIANT if record.variant else Tier.CREDITED_ORIGINAL
    return Tier.VARIANT if record.variant else Tier.PAGE


def main_tier(story: Story, own_text: bool) -> Tier:
    """The tier of the story's current main version, from what the story row holds.

    A story whose copies credit an original has that URL; its text is the original's
    (fetched there: own text), an alias page's of the same host, else a crediting copy's
    (credits name another host). Otherwise the text is its URL's own, else an alias page's.
    """
    credited = story.original_url
    if credited is not None and story.url == credited:
        if own_text:
            return Tier.CREDITED_ORIGINAL
        if story.site == host_of(credited):
            return Tier.CREDITED_VARIANT
        return Tier.CREDITING_COPY
    return Tier.PAGE if own_text else Tier.VARIANT
