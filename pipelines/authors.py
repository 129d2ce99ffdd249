"""Authors and credits: bylines, author markup and meta tags, names cleaned and split."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from pipelines.line_cleaning import credit_rest
from pipelines.markers import Markers
from pipelines.metadata import ld_name, meta_value

logger = logging.getLogger(__name__)

REL_AUTHOR_XPATH = etree.XPath("//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')]")
ITEMPROP_AUTHOR_XPATH = etree.XPath("//*[@itemprop = 'author']")
AUTHOR_META_KEYS = ("author", "article:author", "dc.creator", "byl", "sailthru.author",
                    "parsely-author", "dcterms.creator")
AUTHOR_SPLIT = re.compile(
    r"\s+(?:and|&|và|und|et|y|e|og|en|i)\s+|\s+[-–—]\s+|\s*[,;/|]\s*", re.IGNORECASE
)
URL_OR_EMAIL = re.compile(r"(?:https?://|www\.|@|\.\w{2,4}/)", re.IGNORECASE)
DOMAIN = re.compile(r"\w\.(?:com|net|org|co|info|news|[a-z]{2})\b", re.IGNORECASE)
CREDENTIAL = re.compile(r"^(?:[A-Z]{2,4}|Ph\.?D\.?|M\.?D\.?|Jr\.?|Sr\.?)$")
LEADING_BY = re.compile(r"^(?:[^\W\d_]+\s+){1,2}by\s+", re.IGNORECASE)
NAME_WORD = re.compile(r"^[^\W\d_][\w'’.-]*$")
MAX_AUTHOR_WORDS = 6
MAX_BYLINE_NAMES = 4
BYLINE_NAMES = ("byline", "author", "autor", "auteur", "firma", "signature", "tac-gia")
BYLINE_MAX_CHARS = 80
TOP_BYLINE_LINES = 2
NOT_ALNUM = re.compile(r"\W+")


def strip_prefix(name: str, prefixes: tuple[str, ...]) -> str:
    """Remove a byline prefix such as "By" from NAME."""
    lowered = name.lower()
    for prefix in prefixes:
        if lowered.startswith(prefix + " ") or lowered.startswith(prefix + ":"):
            return name[len(prefix) :].lstrip(" :").strip()
    return name


def is_author_name(name: str, exclude: frozenset[str]) -> bool:
    """Tell whether NAME can be a person's name rather than a site, date or credential."""
    return bool(
        name
        and not URL_OR_EMAIL.search(name)
        and not DOMAIN.search(name)
        and not any(ch.isdigit() for ch in name)
        and not CREDENTIAL.match(name)
        and len(name.split()) <= MAX_AUTHOR_WORDS
        and name.casefold() not in exclude
    )


def host_names(url: str) -> frozenset[str]:
    """The labels of URL's host, letters and digits only ("vnexpress" for vnexpress.net)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    labels = host.split(".")[:-1] if "." in host else [host]
    return frozenset(NOT_ALNUM.sub("", label) for label in [*labels, host] if label)


def normalize_authors(
    raw: Iterable[str], prefixes: tuple[str, ...], exclude: frozenset[str] = frozenset(),
    url: str = "",
) -> list[str]:
    """Split, clean and dedupe author names, keeping their order; EXCLUDE is casefolded.

    A name that is the site's (EXCLUDE, or URL's host such as "VnExpress") is never an author.
    """
    sites = host_names(url) | {NOT_ALNUM.sub("", name) for name in exclude}
    raw = [value for value in raw if NOT_ALNUM.sub("", value.casefold()) not in sites]
    authors: list[str] = []
    for value in raw:
        if URL_OR_EMAIL.match(value.strip()) or "@" in value or "://" in value:
            continue
        value = LEADING_BY.sub("", strip_prefix(" ".join(value.split()), prefixes))
        for part in AUTHOR_SPLIT.split(value):
            name = strip_prefix(part.strip(" .:-–—"), prefixes)
            if is_author_name(name, exclude) and name.casefold() not in {
                a.casefold() for a in authors
            }:
                authors.append(name)
    return authors


def markup_authors(tree: HtmlElement, metas: dict[str, str]) -> list[str]:
    """Return author names given by meta tags, rel=author links or itemprop=author."""
    meta = meta_value(metas, *AUTHOR_META_KEYS)
    if meta and not URL_OR_EMAIL.search(meta):
        return [meta]
    for xpath in (REL_AUTHOR_XPATH, ITEMPROP_AUTHOR_XPATH):
        names = [" ".join("".join(el.itertext()).split()) for el in xpath(tree)]
        names = [name for name in names if name]
        if names:
            return names
    return byline_elements(tree)


def byline_elements(tree: HtmlElement) -> list[str]:
    """The text of the first short element named for a byline ("byline", "autor", "firma")."""
    for element in tree.iter(etree.Element):
        names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if names == " " or not any(word in names for word in BYLINE_NAMES):
            continue
        text = " ".join("".join(element.itertext()).split())
        if 0 < len(text) <= BYLINE_MAX_CHARS and not any(ch.isdigit() for ch in text):
            return [text]
    return []


def is_one_name(words: list[str]) -> bool:
    """Tell whether WORDS read as one person's name: 2 to 4 capitalised words."""
    return 1 < len(words) <= 4 and all(NAME_WORD.match(w) and w[0].isupper() for w in words)


def looks_like_name(line: str, prefixes: tuple[str, ...]) -> bool:
    """Tell whether LINE reads like a byline of names ("Tuệ Phương", "Hà Linh - Quốc Tuấn")."""
    parts = AUTHOR_SPLIT.split(strip_prefix(line.strip(), prefixes))
    return len(parts) <= MAX_BYLINE_NAMES and all(is_one_name(part.split()) for part in parts)


def publisher_line(line: str, prefixes: tuple[str, ...]) -> bool:
    """Tell whether LINE is a publisher's name such as "Báo Đại đoàn kết"."""
    lowered = line.lower()
    short = len(line.split()) <= MAX_AUTHOR_WORDS and not line.endswith((".", "!", "?"))
    return short and any(lowered == p or lowered.startswith(p + " ") for p in prefixes)


def page_authors(
    tree: HtmlElement, url: str, article_ld: dict | None, metas: dict[str, str],
    byline: list[str],
) -> list[str]:
    """Raw author names: JSON-LD, author markup and meta tags, the byline, then trafilatura's.

    trafilatura's metadata (its public extract_metadata) runs only when the others find none.
    """
    declared = ld_name(article_ld.get("author")) if article_ld else []
    found = declared or markup_authors(tree, metas) or byline
    if found:
        return found
    try:
        author = trafilatura.extract_metadata(tree, default_url=url, extensive=False).author
    except Exception:  # trafilatura's metadata may fail on odd trees; authors are optional
        logger.debug("trafilatura metadata failed for %s", url)
        return []
    return [name for name in (author or "").split(";") if name.strip()]


def is_prefixed_byline(line: str, prefixes: tuple[str, ...]) -> bool:
    """Tell whether LINE is only a byline prefix and names ("Von Jana Keller", "By A and B")."""
    stripped = line.strip()
    return (
        len(stripped) <= BYLINE_MAX_CHARS and strip_prefix(stripped, prefixes) != stripped
        and looks_like_name(stripped, prefixes)
    )


def split_top_byline(lines: list[str], prefixes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Split a prefixed byline line off the top of LINES (first or second): (body, authors)."""
    for index, line in enumerate(lines[:TOP_BYLINE_LINES]):
        if len(lines) > 1 and is_prefixed_byline(line, prefixes):
            return lines[:index] + lines[index + 1 :], [line]
    return lines, []


def split_byline(lines: list[str], markers: Markers) -> tuple[list[str], list[str], str | None]:
    """Split a top byline and trailing byline and credit lines off LINES.

    Returns (body, authors, publisher); a closing byline's names come before a top one's.
    """
    body, top_authors = split_top_byline(lines, markers.byline_prefixes)
    body = list(body)
    authors: list[str] = []
    publisher: str | None = None
    for _ in range(4):
        if len(body) < 2:
            break
        last = body[-1]
        rest = credit_rest(last, markers.credit_prefixes)
        if rest is not None:
            publisher = publisher or rest or None
        elif publisher_line(last, markers.publisher_prefixes) and publisher is None:
            publisher = last
        elif looks_like_name(last, markers.byline_prefixes) and not authors:
            authors = [last]
        else:
            break
        body.pop()
    return body, authors or top_authors, publisher
