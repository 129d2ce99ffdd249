"""Authors and credits: bylines, author markup and meta tags, names cleaned and split."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from pipelines.line_cleaning import credit_rest
from pipelines.markers import Markers
from pipelines.metadata import ld_name, meta_value
from pipelines.tree_text import text_of

logger = logging.getLogger(__name__)

REL_AUTHOR_XPATH = etree.XPath("//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')]")
ITEMPROP_AUTHOR_XPATH = etree.XPath("//*[@itemprop = 'author']")
UPPER, LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
META_CONTENT_XPATH = etree.XPath(
    f"//meta[translate(@name, '{UPPER}', '{LOWER}') = $key"
    f" or translate(@property, '{UPPER}', '{LOWER}') = $key]/@content"
)
AUTHOR_META_KEYS = ("author", "article:author", "dc.creator", "byl", "sailthru.author",
                    "parsely-author", "dcterms.creator")
AUTHOR_SPLIT = re.compile(
    r"\s+(?:and|&|và|und|et|y|e|og|en|i)\s+|\s+[-–—]\s+|\s*[,;/|]\s*", re.IGNORECASE
)
URL_OR_EMAIL = re.compile(r"(?:https?://|www\.|@|\.\w{2,4}/)", re.IGNORECASE)
DOMAIN = re.compile(r"\w\.(?:com|net|org|co|info|news|[a-z]{2})\b", re.IGNORECASE)
CREDENTIAL = re.compile(r"^(?:[A-Z]{2,4}|Ph\.?D\.?|M\.?D\.?|Jr\.?|Sr\.?)$")
LEADING_BY = re.compile(r"^(?:[^\W\d_]+\s+){1,2}by\s+", re.IGNORECASE)
MAX_LEAD_WORDS = 4
NAME_TRIM = " .:-–—~→←»«›‹*"
ROLE_NOTE = re.compile(r"\s*\([^()]*\)\s*$")
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


def is_author_name(name: str, exclude: frozenset[str], after_name: bool = True) -> bool:
    """Tell whether NAME can be an author rather than a site, date or credential.

    A short upper-case word is a credential ("MD") only AFTER_NAME, in the same byline;
    alone it is an agency credited as the author ("AP", "dpa").
    """
    return bool(
        name
        and not URL_OR_EMAIL.search(name)
        and not DOMAIN.search(name)
        and not any(ch.isdigit() for ch in name)
        and not (after_name and CREDENTIAL.match(name))
        and len(name.split()) <= MAX_AUTHOR_WORDS
        and name.casefold() not in exclude
    )


def after_lead_words(value: str, prefixes: tuple[str, ...]) -> str:
    """VALUE from its names on, when a few words lead to a byline word ("Erstellt von X").

    Kept whole when the lead is one capitalised word and one word follows ("Walter von
    Aachen"), or what follows starts in lower case ("Ursula von der Leyen"): a name's particle.
    """
    words = value.split()
    for index, word in enumerate(words[1 : MAX_LEAD_WORDS + 1], start=1):
        if word.casefold() not in prefixes or index + 1 >= len(words):
            continue
        lead, rest = words[:index], words[index + 1 :]
        lead_is_name = is_one_name(lead) or (len(lead) == 1 and lead[0][0].isupper())
        if rest[0][0].islower() or (lead_is_name and not is_one_name(rest)):
            return value
        return " ".join(rest)
    return value


def with_abbreviation_dot(name: str, part: str) -> str:
    """NAME with the dot PART ends on when its last word is an initial or suffix ("Jr.")."""
    last = name.split()[-1] if len(name.split()) > 1 else ""
    abbreviation = (len(last) == 1 and last.isupper()) or last in ("Jr", "Sr")
    return name + "." if abbreviation and part.rstrip().endswith(last + ".") else name


def surname_first(value: str) -> str:
    """ "Brazil, Rachel" (a citation's surname first) as "Rachel Brazil"; other VALUEs as given."""
    parts = [part.strip() for part in value.split(",")]
    if (len(parts) == 2 and len(parts[0].split()) == 1 and 1 <= len(parts[1].split()) <= 2
            and not CREDENTIAL.match(parts[1])):
        return f"{parts[1]} {parts[0]}"
    return value


def host_names(url: str) -> frozenset[str]:
    """The labels of URL's host, letters and digits only ("vnexpress" for vnexpress.net)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    labels = host.split(".")[:-1] if "." in host else [host]
    return frozenset(NOT_ALNUM.sub("", label) for label in [*labels, host] if label)


def is_site_name(value: str, hosts: frozenset[str], declared: frozenset[str]) -> bool:
    """Tell whether VALUE names the site: a DECLARED site name, or the host ("VnExpress").

    A person's name that is the host is the author's own site ("Jane Doe" on janedoe.net).
    """
    key = NOT_ALNUM.sub("", value.casefold())
    return key in declared or (key in hosts and not is_one_name(value.split()))


def is_photo_credit(value: str, image_words: tuple[str, ...]) -> bool:
    """Tell whether VALUE credits a picture ("Photograph by ...", "Foto: ...")."""
    first = NOT_ALNUM.sub(" ", value.casefold()).split()
    return bool(first) and first[0].startswith(image_words) if image_words else False


def normalize_authors(
    raw: Iterable[str], prefixes: tuple[str, ...], exclude: frozenset[str] = frozenset(),
    url: str = "", image_words: tuple[str, ...] = (),
) -> list[str]:
    """Split, clean and dedupe author names, keeping their order; EXCLUDE is casefolded.

    A name that is the site's (EXCLUDE, or URL's host such as "VnExpress") is never an author,
    nor a picture's credit (a value led by one of IMAGE_WORDS).
    """
    declared = frozenset(NOT_ALNUM.sub("", name) for name in exclude)
    hosts = host_names(url)
    authors: list[str] = []
    for value in raw:
        if is_site_name(value, hosts, declared) or is_photo_credit(value, image_words):
            continue
        if URL_OR_EMAIL.match(value.strip()) or "@" in value or "://" in value:
            continue
        value = LEADING_BY.sub("", strip_prefix(" ".join(value.split()), prefixes))
        value = after_lead_words(value, prefixes)
        for index, part in enumerate(AUTHOR_SPLIT.split(value)):
            name = with_abbreviation_dot(
                ROLE_NOTE.sub("", strip_prefix(part.strip(NAME_TRIM), prefixes)), part)
            if is_author_name(name, exclude, index > 0) and name.casefold() not in {
                a.casefold() for a in authors
            }:
                authors.append(name)
    return authors


def meta_authors(tree: HtmlElement, metas: dict[str, str]) -> list[str]:
    """Every value of the first author meta tag that is not an address, surname first undone.

    A key may be repeated, one tag per author ("dc.creator": "Brazil, Rachel").
    """
    for key in AUTHOR_META_KEYS:
        value = meta_value(metas, key)
        if value and not URL_OR_EMAIL.search(value):
            values = [" ".join(v.split()) for v in META_CONTENT_XPATH(tree, key=key)]
            return [surname_first(v) for v in values or [value] if v]
    return []


def element_names(tree: HtmlElement, xpath: etree.XPath) -> list[str]:
    """The texts of the elements XPATH finds, outside forms (a comment form's "Name *")."""
    names = [" ".join(" ".join(el.itertext()).split()) for el in xpath(tree) if not in_form(el)]
    return [name for name in names if name]


def in_form(element: HtmlElement) -> bool:
    """Tell whether ELEMENT is a form field's label or inside a form."""
    ancestors = element.iterancestors()
    return element.tag == "label" or any(a.tag in ("form", "label") for a in ancestors)


def markup_authors(tree: HtmlElement, metas: dict[str, str]) -> list[str]:
    """Return author names given by meta tags, rel=author links or itemprop=author."""
    return (meta_authors(tree, metas) or element_names(tree, REL_AUTHOR_XPATH)
            or element_names(tree, ITEMPROP_AUTHOR_XPATH) or byline_elements(tree))


def byline_elements(tree: HtmlElement) -> list[str]:
    """The text of the first short element named for a byline ("byline", "autor", "firma")."""
    for element in tree.iter(etree.Element):
        names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if names == " " or not any(word in names for word in BYLINE_NAMES) or in_form(element):
            continue
        text = " ".join(" ".join(element.itertext()).split())
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
    byline: list[str], clean: Callable[[list[str]], list[str]],
) -> list[str]:
    """Author names from the first source that yields any once CLEANed.

    JSON-LD, author meta tags, rel=author links, itemprop=author, an element named for a
    byline, the text's BYLINE, then trafilatura's metadata (its public extract_metadata):
    a source whose names are all the site's own falls through to the next.
    """
    sources: tuple[Callable[[], list[str]], ...] = (
        lambda: ld_name(article_ld.get("author")) if article_ld else [],
        lambda: meta_authors(tree, metas),
        lambda: element_names(tree, REL_AUTHOR_XPATH),
        lambda: element_names(tree, ITEMPROP_AUTHOR_XPATH),
        lambda: byline_elements(tree),
        lambda: byline,
        lambda: trafilatura_authors(tree, url),
    )
    for source in sources:
        names = clean(source())
        if names:
            return names
    return []


def trafilatura_authors(tree: HtmlElement, url: str) -> list[str]:
    """The authors trafilatura's metadata finds on the page, but a form field's label."""
    try:
        author = trafilatura.extract_metadata(tree, default_url=url, extensive=False).author
    except Exception:  # trafilatura's metadata may fail on odd trees; authors are optional
        logger.debug("trafilatura metadata failed for %s", url)
        return []
    labels = {NOT_ALNUM.sub("", text_of(label).casefold()) for label in tree.iter("label")}
    return [name for name in (author or "").split(";")
            if name.strip() and NOT_ALNUM.sub("", name.casefold()) not in labels]


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
