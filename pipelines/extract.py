"""Article extraction: clean body text and metadata from one HTML page."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from lxml.html import (
    FormElement,
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    InputElement,
    LabelElement,
    SelectElement,
    TextareaElement,
    document_fromstring,
)
from w3lib.encoding import html_to_unicode

from pipelines import authors, dates, metadata
from pipelines.body import body_text, full_text
from pipelines.cleaning import clean_tree, teaser_links
from pipelines.embedded import DATA_SCRIPT_IDS, FLIGHT_START, embedded_text, ld_article_body
from pipelines.line_cleaning import clean_lines
from pipelines.markers import Markers, load_markers
from pipelines.page_kind import KindWords, PageFacts, is_article, microdata_article
from pipelines.standfirst import standfirst_lines
from pipelines.tree_text import link_density, text_of

logger = logging.getLogger(__name__)

XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
NONCHARACTERS = ("\ufffe".encode(), "\uffff".encode())  # in UTF-8
MIN_BODY_CHARS = 200
HTML_ELEMENT_CLASSES = {"form": FormElement, "input": InputElement, "label": LabelElement,
                        "select": SelectElement, "textarea": TextareaElement}
DROP_TAGS = ("script", "style", "noscript")
DATA_SCRIPT_STARTS = ("window.__NUXT__", FLIGHT_START)


def html_parser() -> HTMLParser:
    """An lxml.html parser whose element classes are looked up in C, not per element in Python."""
    lookup = etree.ElementNamespaceClassLookup(etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    ))
    lookup.get_namespace(None).update(HTML_ELEMENT_CLASSES)
    parser = HTMLParser(remove_comments=True, remove_pis=True, encoding="utf-8")
    parser.set_element_class_lookup(lookup)
    return parser


HTML_PARSER = html_parser()


@dataclass(frozen=True)
class Article:
    """An extracted news article."""

    title: str
    text: str
    authors: list[str]
    published_at: datetime | None
    publisher: str | None
    language: str | None
    canonical_url: str | None
    description: str | None


def decode_html(html: str | bytes) -> str:
    """Decode page bytes by BOM, meta charset or sniffing, falling back to UTF-8."""
    if isinstance(html, str):
        return html
    try:
        return html_to_unicode(None, html)[1]
    except (LookupError, ValueError, TypeError):
        return html.decode("utf-8", errors="replace")


def xml_safe_bytes(text: str) -> bytes:
    """TEXT in UTF-8 without the characters XML cannot hold (XML_INCOMPATIBLE)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the regular expression handles them
        return XML_INCOMPATIBLE.sub("", text).encode("utf-8", errors="replace")
    return xml_safe_utf8(data)


def xml_safe_utf8(data: bytes) -> bytes:
    """Valid UTF-8 DATA without the characters XML cannot hold (it has no surrogates)."""
    for noncharacter in NONCHARACTERS:
        if noncharacter in data:
            data = data.replace(noncharacter, b"")
    return data.translate(None, CONTROL_BYTES)


def is_blank(data: bytes) -> bool:
    """Tell whether UTF-8 DATA holds only whitespace, as str.strip() sees it."""
    stripped = data.strip()
    return not stripped or (stripped[0] >= 0x80 and data.decode("utf-8").isspace())


def parse_page(text: str) -> HtmlElement | None:
    """Parse a page's TEXT, whole, into the lxml tree extraction reads, or None if nothing parses.

    No cap: the crawl's download size limit bounds the page.
    """
    return parse_xml_safe(xml_safe_bytes(text))


def parse_utf8_page(page: bytes) -> HtmlElement | None:
    """parse_page for a page given as valid UTF-8, without decoding and encoding it again."""
    return parse_xml_safe(xml_safe_utf8(page))


def is_data_script(element: HtmlElement) -> bool:
    """Tell whether ELEMENT is a script of page data extraction reads (JSON-LD, page state)."""
    if element.tag != "script":
        return False
    return "ld+json" in (element.get("type") or "") or element.get("id") in DATA_SCRIPT_IDS or (
        (element.text or "").lstrip().startswith(DATA_SCRIPT_STARTS)
    )


def parse_xml_safe(data: bytes) -> HtmlElement | None:
    """Parse UTF-8 DATA free of XML-incompatible characters into an lxml tree, or None."""
    if is_blank(data):
        return None
    try:
        tree = document_fromstring(data, parser=HTML_PARSER)
    except (etree.ParserError, ValueError):
        return None
    dropped = [element for element in tree.iter(*DROP_TAGS) if not is_data_script(element)]
    noscripts = [element for element in dropped if element.tag == "noscript"]
    for element in reversed(dropped):
        if element.tag != "noscript":
            element.drop_tree()
    for element in reversed(noscripts):  # judged once the scripts and styles are gone
        (element.drop_tag if holds_the_page(element, tree) else element.drop_tree)()
    return tree


def holds_the_page(noscript: HtmlElement, tree: HtmlElement) -> bool:
    """Tell whether a <noscript> (its scripts and styles already gone) holds more text than
    the rest of the page: the article a script would render, or the rest of the page that an
    unclosed tag inside the noscript took in. Its text is then the page's, not a notice."""
    inner = len(text_of(noscript))
    return inner >= MIN_BODY_CHARS and inner > len(text_of(tree)) - inner


def body_lines(tree: HtmlElement, url: str) -> list[str]:
    """Return the body's lines merged from trafilatura and readability candidates."""
    return body_text(tree, url).splitlines()


def fallback_lines(tree: HtmlElement, url: str, article_ld: dict | None) -> list[str]:
    """Body lines when the fast pass found (almost) none: the page's embedded data first.

    The JSON-LD articleBody, then a framework's page data, then trafilatura's full pass.
    """
    for text in (ld_article_body(article_ld), embedded_text(tree)):
        if len(text) >= MIN_BODY_CHARS:
            return text.splitlines()
    return full_text(tree, url).splitlines()


def page_facts(
    tree: HtmlElement, url: str, title: str, ld_objects: list[dict], metas: dict[str, str],
    found: tuple[str, int, bool, int],
) -> PageFacts:
    """What the page declares and holds, for the page-kind decision.

    FOUND: the body text, how many dates it states (1 for a machine-readable one), whether
    authors are named, the teaser link count.
    """
    text, dates, has_authors, teasers = found
    kinds = frozenset(kind for item in ld_objects for kind in metadata.ld_types(item))
    if microdata_article(tree):
        kinds |= {"Article"}
    body = tree.find("body")
    total = len(text_of(body)) if body is not None else 0
    return PageFacts(
        url=url, title=title, ld_types=kinds, og_type=metadata.meta_value(metas, "og:type"),
        dates=dates, has_authors=has_authors, body_chars=len(text),
        link_share=link_density(body, total) if body is not None else 1.0, teasers=teasers,
    )


def build_article(tree: HtmlElement, url: str, markers: Markers) -> Article | None:
    """Extract an Article from a parsed page, or None if it holds no article."""
    ld_objects = list(metadata.iter_json_ld(tree))
    article_ld = metadata.find_article_ld(ld_objects)
    metas = metadata.meta_tags(tree)
    sites = metadata.site_names(article_ld, metas)
    title = metadata.page_title(tree, article_ld, metas)
    if not title:
        return None
    title = metadata.without_site_suffix(title, sites, url)
    cleaned = clean_tree(tree, markers)
    links = teaser_links(cleaned)
    lines = clean_lines(body_lines(cleaned, url), title, markers, links)
    if len("".join(lines)) < MIN_BODY_CHARS:
        lines = clean_lines(fallback_lines(cleaned, url, article_ld), title, markers, links)
    lead = clean_lines(standfirst_lines(cleaned, lines), title, markers, links)
    lines = lead + lines
    lines, byline_authors, credited = authors.split_byline(lines, markers)
    text = "\n\n".join(lines)
    metas = metadata.meta_tags(tree)  # after clean_tree, as every lookup below
    language = metadata.declared_language(tree, metas)
    evidence = dates.date_evidence(tree, article_ld, metas)
    published = dates.published_at(tree, evidence, url, language)
    not_authors = frozenset(name.casefold() for name in (credited, *sites) if name)
    names = authors.page_authors(
        tree, url, article_ld, metas, byline_authors,
        lambda raw: authors.normalize_authors(raw, markers.byline_prefixes, not_authors, url,
                                              markers.image_words),
    )
    facts = page_facts(tree, url, title, ld_objects, metas,
                       (text, evidence.stated, bool(names), len(links)))
    if not is_article(facts, KindWords(markers.non_article_words, markers.non_article_fillers)):
        logger.debug("not an article: %s", url)
        return None
    return Article(
        title=title,
        text=text,
        authors=names,
        published_at=published,
        publisher=credited or (sites[0] if sites else None),
        language=language,
        canonical_url=metadata.declared_canonical_url(tree, url, metas),
        description=metadata.description(article_ld, metas),
    )


def extract_article(html: str | bytes, url: str) -> Article | None:
    """Extract the article of one page; None for pages without one. Never raises."""
    return article_of(lambda: parse_page(decode_html(html)), url)


def extract_utf8_article(page: bytes, url: str) -> Article | None:
    """extract_article for a page already in valid UTF-8 (the crawl sends pages so)."""
    return article_of(lambda: parse_utf8_page(page), url)


def article_of(parse: Callable[[], HtmlElement | None], url: str) -> Article | None:
    """The article of the page PARSE parses (None: nothing parsed). Never raises."""
    try:
        tree = parse()
        return None if tree is None else build_article(tree, url, load_markers())
    except Exception:  # the contract: a bad page must never stop the pipeline
        logger.exception("extraction failed for %s", url)
        return None
