"""Body text: trafilatura's and readability's candidates merged by agreement (public APIs)."""

from __future__ import annotations

import copy
import functools
import logging
from collections import Counter
from collections.abc import Callable, Container, Iterable
from typing import NamedTuple

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Extractor

from pipelines.readability_candidate import aside_tokens, readability_html, readability_text
from pipelines.standfirst import SENTENCE_END
from pipelines.tokens import joined_tokens, token_string, tokens

logger = logging.getLogger(__name__)

SHORTFALL_RATIO = 0.5
DEGENERATE_SHARE = 0.2
CONTAINED_SHARE = 0.9
COVERED_LINE_MIN_TOKENS = 15
APPEND_MIN_SHARE = 0.5
LEAD_MIN_TOKENS = 8


def coverage(part: list[str], whole: Counter[str]) -> float:
    """Share of PART's tokens (as a multiset) that the WHOLE token counts also hold."""
    if not part:
        return 0.0
    counts = Counter(part)
    return sum(map(min, counts.values(), map(whole.__getitem__, counts))) / len(part)


def split_lines(text: str) -> list[str]:
    """Non-empty stripped lines of TEXT."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@functools.cache
def extractor_options(precision: bool) -> Extractor:
    """Trafilatura's options for a precision or recall pass (fast, no comments), built once.

    Building them reads the config file's values, about a tenth of a millisecond a call.
    """
    return Extractor(
        fast=True, precision=precision, recall=not precision, comments=False, tables=True,
        dedup=False,
    )


def trafilatura_text(tree: HtmlElement, url: str, *, precision: bool) -> str:
    """Trafilatura's body text in precision or recall mode, without comments."""
    options = copy.copy(extractor_options(precision))
    # what Extractor(url=url) sets, as trafilatura's own command line does on reused options
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return trafilatura.extract(tree, url=url, options=options) or ""


@functools.cache
def full_options() -> Extractor:
    """Trafilatura's full pass (its own fallbacks on) in recall mode, built once."""
    return Extractor(fast=False, recall=True, comments=False, tables=True, dedup=False)


def full_text(tree: HtmlElement, url: str) -> str:
    """Trafilatura's full pass: the fallback when the fast passes find (almost) nothing."""
    options = copy.copy(full_options())
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return trafilatura.extract(tree, url=url, options=options) or ""


def is_degenerate(precise_tokens: list[str], readable_tokens: list[str]) -> bool:
    """Tell whether the precise candidate holds under a fifth of readability's tokens."""
    return len(precise_tokens) < DEGENERATE_SHARE * len(readable_tokens)


def link_texts(tree: HtmlElement) -> frozenset[str]:
    """Token strings of the page's link texts, to tell teaser lines from body lines."""
    return frozenset(token_string("".join(link.itertext())) for link in tree.iter("a"))


class LinkTexts:
    """link_texts(TREE), collected on the first membership test (most merges make none)."""

    def __init__(self, tree: HtmlElement) -> None:
        self.tree = tree
        self.texts: frozenset[str] | None = None

    def __contains__(self, joined: object) -> bool:
        if self.texts is None:
            self.texts = link_texts(self.tree)
        return joined in self.texts


class Line(NamedTuple):
    """A stripped line of a candidate with its tokens and token string."""

    text: str
    tokens: list[str]
    joined: str


def lines_of(text: str) -> list[Line]:
    """The non-empty stripped lines of TEXT, each tokenized once."""
    return [
        Line(line, line_tokens, joined_tokens(line_tokens))
        for line in split_lines(text) for line_tokens in (tokens(line),)
    ]


def is_lead_line(line: Line, aside: str, links: Container[str]) -> bool:
    """Tell whether LINE reads as lead prose: a sentence of LEAD_MIN_TOKENS or more, not a
    caption, credit or link text."""
    return (
        len(line.tokens) >= LEAD_MIN_TOKENS and SENTENCE_END.search(line.text) is not None
        and line.joined not in aside and line.joined not in links
    )


def keep_agreed_span(
    lines: list[Line], agreed: list[bool], aside: str, links: Container[str]
) -> list[Line]:
    """Keep the agreed lines and the non-aside, non-link lines enclosed between agreed ones,
    and the lead prose lines that run into the first agreed one (a standfirst)."""
    if True not in agreed:
        return []
    first, last = agreed.index(True), len(agreed) - 1 - agreed[::-1].index(True)
    while first > 0 and is_lead_line(lines[first - 1], aside, links):
        first -= 1
    return [
        line for index, line in enumerate(lines)
        if agreed[index] or (
            first <= index < last and line.joined not in aside and line.joined not in links
        )
    ]


def anchor_index(kept: list[Line], anchor: Line) -> int | None:
    """Index of the last kept line that holds ANCHOR's tokens or is held by them."""
    for index in range(len(kept) - 1, -1, -1):
        line = kept[index].joined
        if line in anchor.joined or anchor.joined in line:
            return index
    return None


def covered_lines(lines: list[Line], kept: list[Line]) -> list[bool]:
    """Whether the KEPT lines' tokens cover each of LINES (CONTAINED_SHARE of its tokens)."""
    counts = Counter(token for line in kept for token in line.tokens)
    return [coverage(line.tokens, counts) >= CONTAINED_SHARE for line in lines]


def insert_enclosed(
    kept: list[Line], precise_lines: list[Line], covered: list[bool], links: Container[str]
) -> list[Line]:
    """Insert each run of uncovered precise lines enclosed by kept lines after its predecessor."""
    inserts: dict[int, list[Line]] = {}
    start = None
    for index, is_covered in enumerate(covered):
        if not is_covered:
            start = index if start is None else start
            continue
        if start is not None and start > 0:
            anchor = anchor_index(kept, precise_lines[start - 1])
            if anchor is not None:
                inserts.setdefault(anchor, []).extend(
                    line for line in precise_lines[start:index] if line.joined not in links
                )
        start = None
    merged: list[Line] = []
    for index, line in enumerate(kept):
        merged.append(line)
        merged.extend(inserts.get(index, []))
    return merged


class Candidate(NamedTuple):
    """A candidate text with its lines and tokens."""

    text: str
    lines: list[Line]
    tokens: list[str]


def candidate(text: str) -> Candidate:
    """TEXT with its lines and their tokens (line breaks are not word characters)."""
    lines = lines_of(text)
    return Candidate(text, lines, [token for line in lines for token in line.tokens])


def merge_candidates(
    precise: str, readable: str, aside: str = " ", links: Container[str] = frozenset()
) -> str:
    """Merge two candidate texts, keeping the lines that agree and large precise-only parts."""
    return merge(candidate(precise), candidate(readable), aside, links)


def merge(
    precise: Candidate, readable: Candidate, aside: str, links: Container[str],
    disjoint: Callable[[], str] | None = None,
) -> str:
    """merge_candidates on tokenized candidates; DISJOINT decides when no line agrees."""
    precise_lines, readable_lines = precise.lines, readable.lines
    precise_tokens, readable_tokens = precise.tokens, readable.tokens
    if not precise_tokens or not readable_tokens:
        return precise.text or readable.text
    if (
        len(precise_tokens) < SHORTFALL_RATIO * len(readable_tokens)
        and coverage(precise_tokens, Counter(readable_tokens)) >= CONTAINED_SHARE
    ):
        logger.debug("precise candidate is a small part of readability's: taking the larger")
        return readable.text
    in_precise = joined_tokens(precise_tokens)
    precise_set = set(precise_tokens)
    lines: list[Line] = []
    agreed: list[bool] = []
    seen: Counter[str] = Counter()
    for line in readable_lines:
        joined = line.joined
        # a line seen before is kept again only as often as the precise text repeats it
        if not line.tokens or (seen[joined] and seen[joined] >= in_precise.count(joined)):
            continue
        seen[joined] += 1
        lines.append(line)
        # a caption restating the text is not agreement (its words are the text's words)
        agreed.append(joined in in_precise or (
            joined not in aside and len(line.tokens) >= COVERED_LINE_MIN_TOKENS
            and sum(token in precise_set for token in line.tokens)
            >= CONTAINED_SHARE * len(line.tokens)
        ))
    if disjoint is not None and True not in agreed:
        return disjoint()
    kept = keep_agreed_span(lines, agreed, aside, links)
    covered = covered_lines(precise_lines, kept)
    merged = insert_enclosed(kept, precise_lines, covered, links)
    if len(merged) != len(kept):
        covered = covered_lines(precise_lines, merged)
    missing = [line for line, is_covered in zip(precise_lines, covered, strict=True)
               if not is_covered]
    merged_size = sum(len(line.tokens) for line in merged)
    if sum(len(line.tokens) for line in missing) < APPEND_MIN_SHARE * merged_size:
        lead = leading_lines(precise_lines, merged, aside, links)
        return "\n".join(line.text for line in lead + merged)
    return "\n".join(line.text for line in merged + missing)


def leading_lines(
    precise_lines: list[Line], merged: list[Line], aside: str, links: Container[str]
) -> list[Line]:
    """The precise lines before the first one MERGED holds: a lead readability's block misses.

    "Holds" is contiguous: a lead paragraph shares most of its words with the article after
    it, so a word-bag test would count it as present. Links, captions and datelines among
    them stay out, and so do short lines (labels) and lines that end no sentence.
    """
    merged_tokens = [token for line in merged for token in line.tokens]
    whole = joined_tokens(merged_tokens)
    held = [line.joined in whole for line in precise_lines]
    if True not in held:
        return []
    return [
        line for line in precise_lines[: held.index(True)]
        if is_lead_line(line, aside, links)  # no headline, dateline, caption or link
        # nor a layout row that holds the article itself
        and coverage(merged_tokens, Counter(line.tokens)) < APPEND_MIN_SHARE
    ]


def arbitrated(precise: Candidate, readable: Candidate, full: Candidate) -> str:
    """The candidate that trafilatura's full pass (its own fallbacks on) agrees with more.

    Asked only when no readability line agrees with the precise text: the two found
    different blocks (a teaser or a sign-up box against the article), and neither length nor
    either pass alone tells which is the article (about 5% of peer pages).
    """
    counts = Counter(full.tokens)
    if coverage(readable.tokens, counts) > coverage(precise.tokens, counts):
        logger.debug("disjoint candidates: the full pass sides with readability's")
        return readable.text
    logger.debug("disjoint candidates: the full pass sides with the precise one")
    return precise.text


def confirmed(readable: Candidate, passes: Iterable[Callable[[], Candidate]]) -> bool:
    """Tell whether one of the other PASSES, run in turn until one does, holds readability's
    candidate (CONTAINED_SHARE of its tokens): the fast recall pass, then the full one, which
    also finds the article when a sign-up box misleads both fast passes."""
    return any(
        coverage(readable.tokens, Counter(run().tokens)) >= CONTAINED_SHARE for run in passes
    )


def body_text(tree: HtmlElement, url: str) -> str:
    """The body text of a cleaned tree, from trafilatura and readability candidates."""
    precise = candidate(trafilatura_text(tree, url, precision=True))
    root = readability_html(tree)
    aside = aside_tokens(root)
    readable = candidate(readability_text(root))
    full = functools.cache(lambda: candidate(full_text(tree, url)))
    if readable.tokens and is_degenerate(precise.tokens, readable.tokens) and confirmed(
        readable, (lambda: candidate(trafilatura_text(tree, url, precision=False)), full)
    ):
        logger.debug("precise candidate is degenerate; a wider pass agrees with readability")
        return readable.text
    return merge(precise, readable, aside, LinkTexts(tree),
                 lambda: arbitrated(precise, readable, full()))
