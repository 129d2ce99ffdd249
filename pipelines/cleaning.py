"""Removal of page chrome from lxml trees and from extracted text lines."""

from __future__ import annotations

import logging
import re

from lxml import etree
from lxml.html import HtmlElement

from pipelines.boxes import remove_boxes
from pipelines.markers import Markers, normalize_label
from pipelines.pull_quotes import remove_pull_quotes
from pipelines.tokens import token_string
from pipelines.tree_text import drop_element, is_stop_block, link_density, text_of

logger = logging.getLogger(__name__)

BREADCRUMB_CASE = str.maketrans("BREADCRUM", "breadcrum")
TITLE_CASE = str.maketrans("TITLEHEADING", "titleheading")
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "header", "strong", "b", "span", "p", "div")
XML_SPACES = " \t\r\n"
XML_SPACE_RUN = re.compile(f"[{XML_SPACES}]+")
SHARE_BAR_MAX_CHARS = 200
CHROME_MAX_CHARS = 300
CHROME_LINK_DENSITY = 0.5
MENU_ITEM_MAX_WORDS = 4
BLOCK_STOP_CHARS = 1500
MAX_LABEL_CHARS = 60
PROSE_MIN_WORDS = 25
INLINE_TAGS = frozenset({"a", "b", "strong", "em", "i", "span", "u", "small", "mark"})


def is_chrome_block(element: HtmlElement) -> bool:
    """Tell whether a nav/breadcrumb match is short or made of links, not content."""
    if element.tag in ("html", "body", "main", "article") or is_stop_block(element):
        return False
    length = len(text_of(element))
    return length <= CHROME_MAX_CHARS or link_density(element, length) >= CHROME_LINK_DENSITY


def chrome_candidates(tree: HtmlElement) -> tuple[list[HtmlElement], list[HtmlElement]]:
    """Nav/breadcrumb elements and share/social widgets by their names, in one pass.

    str.lower() finds an ASCII word wherever translating its upper-case letters would: no
    other character lowers to one of them (only U+0130 lowers to two, "i" and U+0307, which
    no word can span). Widgets in a breadcrumb dropped before them are then dropped from a
    detached tree, which changes nothing.
    """
    breadcrumbs: list[HtmlElement] = []
    share_bars: list[HtmlElement] = []
    for element in tree.iter(etree.Element):
        names, ident = element.get("class"), element.get("id")
        names = names.lower() if names else ""
        ident = ident.lower() if ident else ""
        if (
            element.tag == "nav" or "breadcrumb" in names or "breadcrumb" in ident
            or (element.get("aria-label") or "").translate(BREADCRUMB_CASE) == "breadcrumb"
        ):
            breadcrumbs.append(element)
        if names and ("share" in names or "social" in names) or "share" in ident:
            share_bars.append(element)
    return breadcrumbs, share_bars


def remove_breadcrumbs(found: list[HtmlElement]) -> None:
    """Drop the nav bars and breadcrumb trails among FOUND that are chrome."""
    for element in reversed(found):
        if is_chrome_block(element):
            drop_element(element)


def remove_share_bars(found: list[HtmlElement]) -> None:
    """Drop the short share/social widgets among FOUND."""
    for element in reversed(found):
        if (
            element.tag not in ("html", "body", "main", "article")
            and len(text_of(element)) <= SHARE_BAR_MAX_CHARS
            and next(element.iterdescendants("blockquote"), None) is None
        ):
            drop_element(element)


def wrappers_of(element: HtmlElement) -> list[HtmlElement]:
    """The ancestors of ELEMENT that hold nothing else (no other child, no text)."""
    wrappers: list[HtmlElement] = []
    while True:
        parent = element.getparent()
        if parent is None or parent.tag in ("body", "html") or len(parent) != 1:
            return wrappers
        if (parent.text or "").strip() or (element.tail or "").strip():
            return wrappers
        wrappers.append(parent)
        element = parent


def normalize_quotes(tree: HtmlElement) -> None:
    """Make embedded posts plain quotes: no widget class/id, loose signature text in a <p>."""
    for quote in list(tree.iter("blockquote")):
        for element in (quote, *wrappers_of(quote)):
            for attribute in ("class", "id"):
                element.attrib.pop(attribute, None)
        children = [child for child in quote if isinstance(child.tag, str)]
        if not children or not any(child.tail and child.tail.strip() for child in children):
            continue
        paragraph = etree.SubElement(quote, "p")
        start = next(i for i, child in enumerate(children) if child.tail and child.tail.strip())
        paragraph.text = children[start].tail
        children[start].tail = None
        for child in children[start + 1 :]:
            paragraph.append(child)


def is_link_menu(element: HtmlElement) -> bool:
    """Tell whether a list holds only short links (a menu or a breadcrumb)."""
    items = [child for child in element if child.tag == "li"]
    if len(items) < 2:
        return False
    for item in items:
        if item.find(".//a") is None:  # text without links: never a menu item
            return False
        text = text_of(item)
        links = " ".join(text_of(link) for link in item.iter("a"))
        if not text or text != links or len(text.split()) > MENU_ITEM_MAX_WORDS:
            return False
    return True


def remove_link_menus(tree: HtmlElement) -> None:
    """Drop lists made only of short links."""
    for element in reversed(list(tree.iter("ul", "ol"))):
        if is_link_menu(element):
            drop_element(element)


def is_marker_label(text: str, headings: frozenset[str]) -> bool:
    """Tell whether TEXT (whitespace-normalised) is a short block marker."""
    return 0 < len(text) <= MAX_LABEL_CHARS and normalize_label(text) in headings


def is_marker_heading(element: HtmlElement, headings: frozenset[str]) -> bool:
    """Tell whether ELEMENT is a short heading whose text is a block marker."""
    return is_marker_label(text_of(element), headings)


def heading_candidates(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """Headings, headers, strong/b/span/p, title/heading divs of <= 60 characters, with texts.

    The length is XPath's string-length(normalize-space()): XML whitespace runs count as one
    space, trimmed. It is at least the count of other characters, so it only needs
    computing when the raw text is longer and those are few.
    """
    found = []
    for element in tree.iter(*HEADING_TAGS):
        if element.tag == "div":
            names = (element.get("class") or "").translate(TITLE_CASE)
            if "title" not in names and "heading" not in names:
                continue
        text = "".join(element.itertext())
        if len(text) > MAX_LABEL_CHARS and (
            len(text) - sum(text.count(space) for space in XML_SPACES) > MAX_LABEL_CHARS
            or len(XML_SPACE_RUN.sub(" ", text).strip(" ")) > MAX_LABEL_CHARS
        ):
            continue
        found.append((element, text))
    return found


def heading_wrapper(element: HtmlElement) -> HtmlElement:
    """Climb from a heading to the outermost wrapper that holds only that heading."""
    return ([element, *wrappers_of(element)])[-1]


def is_prose(element: HtmlElement) -> bool:
    """Tell whether ELEMENT is running text of the article, not a teaser (a titled link)."""
    text = text_of(element)
    return (
        len(text.split()) >= PROSE_MIN_WORDS and link_density(element, len(text)) < 0.5
        and not any(is_block_link(link) for link in element.iter("a"))
    )


def is_block_link(link: HtmlElement) -> bool:
    """Tell whether LINK (of three words or more) is the whole text of its paragraph or item."""
    text = text_of(link)
    if len(text.split()) < 3:
        return False
    block = link.getparent()
    while block is not None and block.tag in INLINE_TAGS:
        block = block.getparent()
    return block is not None and token_string(text_of(block)) == token_string(text)


def ends_block(element: HtmlElement, headings: frozenset[str]) -> bool:
    """Tell whether a sibling after a marker heading starts other content.

    A heading (not itself a marker), the article's main block or running text ends the
    block: a marker removes the teasers it heads, never the article text after it.
    """
    if not isinstance(element.tag, str):
        return False
    if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6") and not is_marker_heading(
        element, headings
    ):
        return True
    return (
        is_stop_block(element) or len(text_of(element)) > BLOCK_STOP_CHARS or is_prose(element)
    )


def remove_marker_blocks(tree: HtmlElement, headings: frozenset[str]) -> int:
    """Drop each block opened by a marker heading; return how many were dropped."""
    found = [
        element for element, text in heading_candidates(tree)
        if is_marker_label(" ".join(text.split()), headings)
    ]
    removed = 0
    for heading in found:
        if heading.getroottree().getroot() is not tree:
            continue
        start = heading_wrapper(heading)
        doomed = [start]
        for sibling in start.itersiblings():
            if ends_block(sibling, headings):
                break
            doomed.append(sibling)
        for element in doomed:
            drop_element(element)
        removed += 1
    return removed


HIDDEN_XPATH = etree.XPath(
    "descendant::*[@hidden or contains(translate(@style, ' ', ''), 'display:none')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' hidden ')"
    " or contains(@class, 'sr-only') or contains(@class, 'visually-hidden')"
    " or contains(@class, 'screen-reader') or contains(@class, 'offscreen')]"
)


def remove_hidden(tree: HtmlElement) -> int:
    """Drop the elements the page declares hidden (hidden attribute, display:none, class
    "hidden") or for screen readers only (sr-only, visually-hidden, offscreen classes): sign-in
    walls, paywall notes, "expand box" labels no reader sees; return how many.

    A hidden element that holds the page's heading, main block or article body stays: a
    script shows it.
    """
    doomed = [element for element in HIDDEN_XPATH(tree) if not is_stop_block(element)]
    for element in reversed(doomed):
        drop_element(element)
    return len(doomed)


def remove_asides(tree: HtmlElement) -> int:
    """Drop buttons (control labels: "expand box", "skip past newsletter") and asides, the
    content HTML declares tangential (sign-up and teaser boxes), unless an aside is long
    (over BLOCK_STOP_CHARS: some pages wrap their text in one) or holds the main block.
    """
    doomed = [
        element for element in tree.iter("button", "aside")
        if not is_stop_block(element) and len(text_of(element)) <= BLOCK_STOP_CHARS
    ]
    for element in reversed(doomed):
        drop_element(element)
    return len(doomed)


def clean_tree(tree: HtmlElement, markers: Markers) -> HtmlElement:
    """Remove breadcrumbs, menus, share bars, boxes and marker-headed blocks, in place."""
    remove_hidden(tree)
    remove_asides(tree)
    breadcrumbs, share_bars = chrome_candidates(tree)
    remove_breadcrumbs(breadcrumbs)
    remove_link_menus(tree)
    remove_share_bars(share_bars)
    remove_pull_quotes(tree)
    normalize_quotes(tree)
    boxes = remove_boxes(tree, markers)
    count = remove_marker_blocks(tree, markers.block_headings)
    logger.debug("removed %d boxes and %d marker-headed blocks", boxes, count)
    return tree


def teaser_links(tree: HtmlElement) -> frozenset[str]:
    """Token strings of links that are the whole of their paragraph or item: teasers.

    A link to a place in the page itself ("#...") is not one, nor a link of under three words.
    """
    return frozenset(
        token_string(text_of(link)) for link in tree.iter("a")
        if not (link.get("href") or "#").strip().startswith("#") and is_block_link(link)
    )
