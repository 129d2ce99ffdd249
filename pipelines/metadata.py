"""Article metadata from JSON-LD, meta tags and the page's own markup."""

from __future__ import annotations

import html
import json
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from dateutil import parser as date_parser
from lxml import etree
from lxml.html import HtmlElement

from common.urls import join_url

logger = logging.getLogger(__name__)

JSON_LD_XPATH = etree.XPath(
    "//script[contains(translate(@type, 'JSONLD', 'jsonld'), 'ld+json')]/text()"
)
CANONICAL_XPATH = etree.XPath(
    "//link[translate(@rel, 'CANONICAL', 'canonical') = 'canonical']/@href"
)
H1_XPATH = etree.XPath("//h1")
TITLE_XPATH = etree.XPath("//title/text()")
TIME_XPATH = etree.XPath("//time[@datetime]/@datetime")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
META_NAME_ATTRIBUTES = ("property", "name", "itemprop", "http-equiv")
ARTICLE_TYPE = re.compile(r"(Article|BlogPosting|Report|LiveBlogPosting)$")
LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage"})
DATE_META_KEYS = ("article:published_time", "og:published_time", "datepublished",
                  "published_time", "pubdate", "publishdate", "date", "dc.date.issued",
                  "dcterms.created", "dc.date", "sailthru.date", "parsely-pub-date")
LANGUAGE_CODE = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]+)*$")
WORDS = re.compile(r"\w+")
TITLE_SEPARATORS = re.compile(r"\s+[|–—-]\s+|\s+[:»|]\s+")
SUFFIX_SEPARATOR = re.compile(r"\s+[|–—:·»-]\s+|\s*[|·»]\s*")
NOT_ALNUM = re.compile(r"\W+")
KICKER_SEPARATORS = " \t\n\r\xa0-–—:|/"
DAY_FIRST = re.compile(r"\s*\d{1,2}[.-]\d{1,2}[.-]\d{4}(?!\d)")  # "10.12.2022": day, month


def meta_tags(tree: HtmlElement) -> dict[str, str]:
    """Each meta tag's name (property, name, itemprop, http-equiv) with its first content."""
    first: dict[str, str] = {}
    for meta in tree.iter("meta"):
        value = meta.get("content")
        if value and value.strip():
            for attribute in META_NAME_ATTRIBUTES:
                name = meta.get(attribute)
                if name:
                    first.setdefault(name.translate(ASCII_LOWER), value)
    return first


def meta_value(metas: dict[str, str], *keys: str) -> str | None:
    """Return the content (spaces normalized) of the first of KEYS that METAS names."""
    for key in keys:
        if key in metas:
            return " ".join(metas[key].split())
    return None


def iter_json_ld(tree: HtmlElement) -> Iterator[dict]:
    """Yield every JSON-LD object of the page, flattening lists and @graph."""
    for raw in JSON_LD_XPATH(tree):
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            logger.debug("unparsable JSON-LD block skipped")
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
                yield item


def ld_types(item: dict) -> list[str]:
    """Return the @type values of a JSON-LD object as strings."""
    value = item.get("@type", [])
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def find_article_ld(objects: Iterable[dict]) -> dict | None:
    """Return the first JSON-LD object typed as an article."""
    for item in objects:
        if any(ARTICLE_TYPE.search(kind) for kind in ld_types(item)):
            return item
    return None


def is_listing_ld(objects: Iterable[dict]) -> bool:
    """Tell whether the JSON-LD declares a listing page and no article."""
    kinds = {kind for item in objects for kind in ld_types(item)}
    return bool(kinds & LISTING_TYPES) and not any(ARTICLE_TYPE.search(k) for k in kinds)


def ld_name(value: object) -> list[str]:
    """Return the names held by a JSON-LD person/organisation value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [name for item in value for name in ld_name(item)]
    return []


def parse_datetime(value: str) -> datetime | None:
    """Parse a date string; naive values are taken as UTC, "dd.mm.yyyy" is day first."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
                day_first = bool(DAY_FIRST.match(value))
                parsed = date_parser.parse(value, fuzzy=False, dayfirst=day_first)
        except (ValueError, OverflowError, TypeError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def declared_language(tree: HtmlElement, metas: dict[str, str]) -> str | None:
    """Return the page's declared ISO 639-1 language code, lower-case."""
    root_lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    declared = (root_lang, meta_value(metas, "content-language"), meta_value(metas, "og:locale"))
    for value in declared:
        match = LANGUAGE_CODE.match((value or "").strip().split(",")[0].strip())
        if match:
            return match.group(1).lower()
    return None


def declared_canonical_url(tree: HtmlElement, url: str, metas: dict[str, str]) -> str | None:
    """Return the absolute rel=canonical URL, else og:url."""
    for value in [*CANONICAL_XPATH(tree), meta_value(metas, "og:url")]:
        if not value or not value.strip():
            continue
        absolute = join_url(url, value.strip())
        if absolute is None:
            logger.debug("unparsable canonical URL %r on %s", value[:200], url)
            continue
        if absolute.startswith(("http://", "https://")):
            return absolute
    return None


def shares_words(text: str, other: str | None) -> bool:
    """Tell whether at least half of TEXT's words occur in OTHER."""
    if not other:
        return False
    words = set(WORDS.findall(text.lower()))
    return bool(words) and len(words & set(WORDS.findall(other.lower()))) >= len(words) / 2


def page_title(tree: HtmlElement, article_ld: dict | None, metas: dict[str, str]) -> str | None:
    """Return the headline, its HTML entities read ("&#8216;", "&quot;" a CMS escaped twice),
    without a kicker the h1 shows above it that no other title of the page carries."""
    title = declared_title(tree, article_ld, metas)
    if not title:
        return None
    title = " ".join(html.unescape(title).split())
    headline = article_ld.get("headline") if article_ld else None
    others = [headline, *TITLE_XPATH(tree), meta_value(metas, "og:title", "twitter:title")]
    for h1 in H1_XPATH(tree):
        parts = h1_kicker(h1)
        if parts and title.endswith(parts[1]) and title != parts[1] and not any(
            isinstance(other, str) and starts_with_words(other, parts[0]) for other in others
        ):
            return parts[1]
    return title


def h1_kicker(h1: HtmlElement) -> tuple[str, str] | None:
    """(kicker, headline) of an h1 led by a kicker element: "<span>Overline</span> Headline"."""
    children = [child for child in h1 if isinstance(child.tag, str)]
    if not children or (h1.text or "").strip():
        return None
    kicker = "".join(children[0].itertext())
    full = "".join(h1.itertext())
    rest = full[full.index(kicker) + len(kicker):].strip(KICKER_SEPARATORS)
    kicker, rest = " ".join(kicker.split()), " ".join(rest.split())
    return (kicker, rest) if kicker and len(rest.split()) > 1 else None


def starts_with_words(text: str, start: str) -> bool:
    """Tell whether TEXT's words begin with START's words (case and punctuation aside)."""
    words = WORDS.findall(start.lower())
    return bool(words) and WORDS.findall(text.lower())[: len(words)] == words


def declared_title(tree: HtmlElement, article_ld: dict | None, metas: dict[str, str]
                   ) -> str | None:
    """Return the headline: JSON-LD, the h1 that <title>/og:title confirm, og:title, <title>."""
    headline = article_ld.get("headline") if article_ld else None
    if isinstance(headline, str) and headline.strip():
        return " ".join(headline.split())
    og_title = meta_value(metas, "og:title", "twitter:title")
    titles = [" ".join(t.split()) for t in TITLE_XPATH(tree) if t.strip()]
    head_title = titles[0] if titles else None
    h1s = [" ".join("".join(h.itertext()).split()) for h in H1_XPATH(tree)]
    h1s = [h for h in h1s if len(h.split()) > 1]
    for h1 in h1s:
        if any(shares_words(h1, t) and shares_words(t or "", h1) for t in (og_title, head_title)):
            return h1
    if og_title:
        return og_title
    if head_title:
        return TITLE_SEPARATORS.split(head_title)[0]
    return h1s[0] if h1s else None


def without_site_suffix(title: str, site_names: tuple[str, ...], url: str) -> str:
    """TITLE without a trailing " | Site" part naming the site (its name or host)."""
    parts = SUFFIX_SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    known = {NOT_ALNUM.sub("", name.casefold()) for name in site_names if name}
    known |= {NOT_ALNUM.sub("", label) for label in host.split(".")[:-1] if len(label) > 2}
    known |= {NOT_ALNUM.sub("", host)}
    last = NOT_ALNUM.sub("", parts[-1].casefold())
    if last and (last in known or any(last.startswith(k) or k.startswith(last) for k in known
                                      if len(k) > 3 and len(last) > 3)):
        cut = title.rfind(parts[-1])
        return title[:cut].rstrip(" |–—:·»-").strip() or title
    return title


def site_names(article_ld: dict | None, metas: dict[str, str]) -> tuple[str, ...]:
    """The site's and publisher's names the page declares: og:site_name, JSON-LD publisher."""
    names = [meta_value(metas, "og:site_name") or ""]
    names += ld_name(article_ld.get("publisher")) if article_ld else []
    return tuple(name.strip() for name in names if name and name.strip())


def site_publisher(article_ld: dict | None, metas: dict[str, str]) -> str | None:
    """Return og:site_name, else the JSON-LD publisher's name."""
    site_name = meta_value(metas, "og:site_name")
    if site_name:
        return site_name
    names = ld_name(article_ld.get("publisher")) if article_ld else []
    return names[0].strip() if names and names[0].strip() else None


def description(article_ld: dict | None, metas: dict[str, str]) -> str | None:
    """Return the meta description, og:description, else the JSON-LD description."""
    value = meta_value(metas, "description", "og:description", "twitter:description")
    if value:
        return value
    ld_value = article_ld.get("description") if article_ld else None
    return " ".join(ld_value.split()) if isinstance(ld_value, str) and ld_value.strip() else None
