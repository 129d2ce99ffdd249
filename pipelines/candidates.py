"""Body-text candidates from several extractors and their merge by agreement."""

from __future__ import annotations

import copy
import logging
import re

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from readability import Document
from readability.readability import Unparseable

logger = logging.getLogger(__name__)

TOKEN = re.compile(r"\w+")
READABILITY_BLOCKS_XPATH = etree.XPath(
    "//p | //div | //h1 | //h2 | //h3 | //h4 | //h5 | //h6 | //li | //pre | //blockquote"
    " | //tr | //br | //section | //article | //table | //ul | //ol | //figure"
)
SHORTFALL_RATIO = 0.5
DEGENERATE_SHARE = 0.2
CONTAINED_SHARE = 0.9
RECALL_LINE_MIN_TOKENS = 25
COVERED_LINE_MIN_TOKENS = 15
APPEND_MIN_SHARE = 0.5


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of TEXT."""
    return TOKEN.findall(text.lower())


def token_string(text: str) -> str:
    """TEXT as a space-padded string of its tokens, for contiguous containment tests."""
    return " " + " ".join(tokens(text)) + " "


def coverage(part: list[str], whole: list[str]) -> float:
    """Share of PART's tokens (as a multiset) that WHOLE also holds."""
    if not part:
        return 0.0
    available: dict[str, int] = {}
    for token in whole:
        available[token] = available.get(token, 0) + 1
    found = 0
    for token in part:
        if available.get(token, 0) > 0:
            available[token] -= 1
            found += 1
    return found / len(part)


def split_lines(text: str) -> list[str]:
    """Non-empty stripped lines of TEXT."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def trafilatura_text(tree: HtmlElement, url: str, *, precision: bool) -> str:
    """Trafilatura's body text in precision or recall mode, without comments."""
    text = trafilatura.extract(
        tree, url=url, include_comments=False, favor_precision=precision,
        favor_recall=not precision, include_tables=True, deduplicate=False,
        fast=True,
    )
    return text or ""


def readability_text(tree: HtmlElement) -> str:
    """Readability's main-content block as plain text, one block per line."""
    try:
        summary = Document(copy.deepcopy(tree)).summary(html_partial=True)
    except Unparseable:
        logger.debug("readability found nothing to parse")
        return ""
    root = etree.fromstring(summary, etree.HTMLParser()) if summary.strip() else None
    if root is None:
        return ""
    for element in READABILITY_BLOCKS_XPATH(root):
        element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in "".join(root.itertext()).split("\n"))
    return "\n".join(line for line in lines if line)


def merge_candidates(precise: str, recall: str, readable: str) -> str:
    """Merge three candidate texts, keeping the lines that agree and large precise-only parts."""
    precise_tokens, readable_tokens = tokens(precise), tokens(readable)
    if not precise_tokens or not readable_tokens:
        return precise or readable
    if (
        len(precise_tokens) < DEGENERATE_SHARE * len(readable_tokens)
        and coverage(readable_tokens, tokens(recall)) >= CONTAINED_SHARE
    ):
        logger.debug("precise candidate is degenerate; readability and recall agree")
        return readable
    if (
        len(precise_tokens) < SHORTFALL_RATIO * len(readable_tokens)
        and coverage(precise_tokens, readable_tokens) >= CONTAINED_SHARE
    ):
        logger.debug("precise candidate is a small part of readability's: taking the larger")
        return readable
    in_precise, in_recall = token_string(precise), token_string(recall)
    precise_set = set(precise_tokens)
    kept: list[str] = []
    seen: set[str] = set()
    for line in split_lines(readable):
        line_tokens = tokens(line)
        joined = token_string(line)
        if not line_tokens or joined in seen:
            continue
        if joined in in_precise or (
            joined in in_recall and len(line_tokens) >= RECALL_LINE_MIN_TOKENS
        ):
            kept.append(line)
        elif len(line_tokens) >= COVERED_LINE_MIN_TOKENS and (
            sum(token in precise_set for token in line_tokens) >= CONTAINED_SHARE * len(line_tokens)
        ):
            kept.append(line)
        seen.add(joined)
    merged_tokens = tokens("\n".join(kept))
    missing = [
        line for line in split_lines(precise)
        if coverage(tokens(line), merged_tokens) < CONTAINED_SHARE
    ]
    if len(tokens("\n".join(missing))) < APPEND_MIN_SHARE * len(merged_tokens):
        return "\n".join(kept)
    return "\n".join(kept + missing)
