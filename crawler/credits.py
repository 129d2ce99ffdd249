"""Credits that hold: a credited page is the original only when it carries the same story.

Pure functions over lxml trees. The spider follows a credit through redirects and to the
canonical URL an AMP, print or mobile variant declares, then compares the two pages' story
text by the dedup stage's own measure (MinHash over word shingles of the normalized text,
pipelines/neardup.py, NEWS_DEDUP_* settings): a citation, an agency's or ministry's home
page, or any page whose text differs is no credit.
"""

from __future__ import annotations

import numpy as np
from lxml import etree

from common.urls import canonical_url, host_of, join_url
from crawler.links import is_fetchable_link
from pipelines.dedup import normalize_body
from pipelines.neardup import similarity

STORY_PARAGRAPHS = etree.XPath(
    "//p[not(ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside"
    " or ancestor::form)]"
)
DECLARED_CANONICAL = (
    etree.XPath('//link[@rel="canonical"]/@href'),
    etree.XPath('//meta[@property="og:url"]/@content'),
)
PARAGRAPH_TEXT = etree.XPath("string()")


def story_words(root: etree._Element) -> list[str]:
    """The normalized words of a page's running text (its paragraphs outside page chrome)."""
    text = " ".join(str(PARAGRAPH_TEXT(p)) for p in STORY_PARAGRAPHS(root))
    return normalize_body(text).split()


def credit_holds(copy: np.ndarray | None, original: np.ndarray | None, threshold: float) -> bool:
    """True when the credited page carries the copy's story: the MinHash signatures of their
    story words (pipelines.neardup.signature) are near-duplicates as the dedup stage says."""
    if copy is None or original is None:
        return False
    return similarity(copy, original) >= threshold


def declared_canonical(root: etree._Element, url: str) -> str | None:
    """The fetchable absolute URL of the page's rel=canonical, else og:url; None if neither."""
    for xpath in DECLARED_CANONICAL:
        for value in xpath(root):
            absolute = join_url(url, str(value).strip()) if str(value).strip() else None
            if absolute and is_fetchable_link(absolute):
                return absolute
    return None


def variant_canonical(root: etree._Element, url: str) -> str | None:
    """The canonical URL of an AMP, print or mobile variant: a rel=canonical elsewhere.

    None when the page declares no canonical or declares its own URL (tracking, case and
    default port aside).
    """
    declared = declared_canonical(root, url)
    if declared is None or canonical_url(declared) == canonical_url(url):
        return None
    return declared


def original_url(root: etree._Element, url: str) -> str:
    """The URL a fetched original is stored at: its rel=canonical on its own host, else URL.

    The dedup stage makes the same choice (pipelines.dedup.story_url), so a copy crediting
    this URL finds the original's story.
    """
    declared = declared_canonical(root, url)
    if declared is not None and host_of(declared) == host_of(url):
        return canonical_url(declared)
    return canonical_url(url)
