"""Page kinds: whether a page is an article, from what it declares and what it holds together.

No single signal decides. Each adds evidence for or against an article: the declared type
(JSON-LD @type, og:type, microdata itemtype), the URL's shape (an "/about", "/tag/x" path or
a dated, long slug), the title ("Cookie policy | Site"), a publication date, a byline, the
body's length and the share of its text that sits in links. About, contact, imprint,
privacy, cookie, terms, login, search, author, tag, topic and section pages come out as not
articles, in any language config/boilerplate.yaml lists words for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml.html import HtmlElement

ARTICLE_LD = re.compile(r"(Article|BlogPosting|Report|LiveBlogPosting|NewsArticle)$")
NON_ARTICLE_LD = frozenset({"AboutPage", "ContactPage", "ProfilePage", "SearchResultsPage",
                            "CollectionPage", "ItemList", "Person", "CheckoutPage"})
ARTICLE_MICRODATA_XPATH = etree.XPath(
    "//*[@itemtype and (contains(@itemtype, 'Article') or contains(@itemtype, 'BlogPosting'))]"
)
NON_ARTICLE_OG = frozenset({"website", "profile", "product", "book", "music.song", "video.other"})
DATED_PATH = re.compile(r"/(19|20)\d\d[/-](0?[1-9]|1[0-2])(?:[/-]|$)|\d{5,}")
SLUG_SEPARATORS = re.compile(r"[-_.+]+")
LONG_SLUG_WORDS = 4
TITLE_SPLIT = re.compile(r"\s+[|–—:-]\s+|\s*[|·»]\s*")
LANGUAGE_SEGMENT = re.compile(r"^[a-z]{2}(?:[-_][a-z]{2})?$")
INDEX_NAMES = frozenset({"index", "default", "home"})
LONG_BODY_CHARS = 1000
BRIEF_CHARS = 200
LINKY_SHARE = 0.5
LISTING_DATES = 3
SECTION_TITLE_WORDS = 2


@dataclass(frozen=True)
class PageFacts:
    """What a page declares and holds, as the extractor found it."""

    url: str
    title: str
    ld_types: frozenset[str]
    og_type: str | None
    dates: int
    has_authors: bool
    body_chars: int
    link_share: float
    teasers: int


def microdata_article(tree: HtmlElement) -> bool:
    """Tell whether the page's microdata declares an article item."""
    return bool(ARTICLE_MICRODATA_XPATH(tree))


def path_words(url: str) -> list[str]:
    """The URL's path segments, decoded and lower-cased, without a file extension."""
    path = unquote(urlsplit(url).path).lower()
    segments = [segment.rsplit(".", 1)[0] for segment in path.split("/") if segment]
    return segments[:-1] if segments and segments[-1] in INDEX_NAMES else segments


@dataclass(frozen=True)
class KindWords:
    """Words that name non-article pages, and the short words that may join them."""

    words: frozenset[str]
    fillers: frozenset[str]

    def names_page(self, parts: list[str]) -> bool:
        """Tell whether PARTS (a slug's or title's words) only name a non-article page.

        Every part is one of WORDS or FILLERS, or belongs to a run of parts that spells one of
        the WORDS written in several ("chính sách", "chinh-sach" in "chinh-sach-cookie"),
        and at least one is a WORD.
        """
        parts = [part for part in parts if part]
        phrases = phrases_of(self.words)
        named, at = False, 0
        while at < len(parts):
            size = next((size for size in range(len(parts) - at, 1, -1)
                         if tuple(parts[at:at + size]) in phrases), 1)
            if size > 1 or parts[at] in self.words:
                named = True
            elif parts[at] not in self.fillers:
                return False
            at += size
        return named


@functools.lru_cache(maxsize=4)
def phrases_of(words: frozenset[str]) -> frozenset[tuple[str, ...]]:
    """The WORDS written in several words or slug parts, each as its tuple of parts."""
    split = (tuple(part for part in re.split(r"[\s-]+", word) if part) for word in words)
    return frozenset(parts for parts in split if len(parts) > 1)


def url_evidence(url: str, words: KindWords) -> int:
    """-2 for a path that names a non-article page, +1 for a dated or long slug, else 0.

    A non-article path is one whose last segment, or the segment before a last one (as in
    "/tag/x" or "/author/jane"), is one of WORDS, or made only of them ("about-us").
    """
    if not url:
        return 0  # no address known: its shape tells nothing
    segments = path_words(url)
    if all(LANGUAGE_SEGMENT.match(segment) for segment in segments):
        return -2  # a site's home page, or its home page in one language ("/fr/")
    def named(segment: str) -> bool:
        return segment in words.words or words.names_page(SLUG_SEPARATORS.split(segment))
    if named(segments[-1]) or (len(segments) >= 2 and named(segments[-2])
                               and len(SLUG_SEPARATORS.split(segments[-1])) < LONG_SLUG_WORDS):
        return -2
    if DATED_PATH.search(urlsplit(url).path) or len(
        SLUG_SEPARATORS.split(segments[-1])
    ) >= LONG_SLUG_WORDS:
        return 1
    return 0


def title_names_page(title: str, words: KindWords) -> bool:
    """Tell whether the title's first part is a non-article page's name ("Cookie policy")."""
    head = TITLE_SPLIT.split(title.strip())[0].lower().strip()
    return bool(head) and (head in words.words or words.names_page(re.split(r"[\s-]+", head)))


def article_score(facts: PageFacts, words: KindWords) -> float:
    """Evidence for (positive) or against (negative) the page being an article."""
    score = 0.0
    if any(ARTICLE_LD.search(kind) for kind in facts.ld_types):
        score += 3
    elif facts.ld_types & NON_ARTICLE_LD:
        score -= 2
    if facts.og_type == "article":
        score += 2
    elif facts.og_type in NON_ARTICLE_OG:
        score -= 0.5
    score += url_evidence(facts.url, words)
    if title_names_page(facts.title, words):
        score -= 3
    elif len(TITLE_SPLIT.split(facts.title.strip())[0].split()) <= SECTION_TITLE_WORDS:
        score -= 1  # "World | Site": a section's name, not a headline
    if 0 < facts.dates < LISTING_DATES:
        score += 1
    elif facts.dates >= LISTING_DATES:  # a date per teaser
        score -= 1
    score += 1 if facts.has_authors else 0
    if facts.body_chars >= LONG_BODY_CHARS:
        score += 1
    elif facts.body_chars < BRIEF_CHARS:
        score -= 1
    if facts.link_share >= LINKY_SHARE:  # a long body weighs against the page's menus
        score -= 2 if facts.body_chars < LONG_BODY_CHARS else 1
    return score


def is_article(facts: PageFacts, words: KindWords) -> bool:
    """Tell whether the evidence says the page is an article (a body is needed either way)."""
    return facts.body_chars > 0 and article_score(facts, words) >= 0
