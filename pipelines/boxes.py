"""Newsletter, subscription, consent and paywall boxes and "read also" lines in page trees."""

from __future__ import annotations

import functools
import re

from lxml.html import HtmlElement

from pipelines.markers import Markers
from pipelines.tree_text import drop_element, is_stop_block, link_density, text_of

BOX_MAX_CHARS = 600
READ_ALSO_MAX_CHARS = 300
READ_ALSO_LINK_SHARE = 0.3
TEASER_TAGS = ("p", "li", "div", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "aside")
LABEL_MAX_WORDS = 4
LABEL_ENDS = (":", "|", "»", "›", ">", "→", "-", "–", "—")
TEASER_LINK_MIN_WORDS = 3


@functools.cache
def names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled search for any of NAMES as a substring, built once per marker list."""
    return re.compile("|".join(map(re.escape, names))) if names else re.compile("(?!)")


def is_box(element: HtmlElement, markers: Markers) -> bool:
    """Tell whether ELEMENT is a short newsletter, consent or paywall box, by its names.

    Boxes without such names are caught by their phrases, line by line (is_teaser_line).
    """
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    if names == " " or not names_pattern(markers.box_names).search(names):
        return False
    if element.tag in ("html", "body", "main", "article") or is_stop_block(element):
        return False
    return len(text_of(element)) <= BOX_MAX_CHARS


def first_text(element: HtmlElement) -> str:
    """The first non-blank text inside ELEMENT, lower-cased and stripped ("" if none)."""
    for text in element.itertext():
        if text.strip():
            return " ".join(text.lower().split())
    return ""


def is_read_also(element: HtmlElement, prefixes: tuple[str, ...]) -> bool:
    """Tell whether ELEMENT is a short "read also" line or box that links to other articles."""
    head = first_text(element)
    if not head or not head.startswith(prefixes):
        return False
    text = text_of(element)
    if not text or len(text) > READ_ALSO_MAX_CHARS or element.find(".//a") is None:
        return False
    lowered = " ".join(text.lower().split())
    return any(
        lowered.startswith(prefix)
        and (len(lowered) == len(prefix) or not lowered[len(prefix)].isalnum())
        for prefix in prefixes
    ) and link_density(element, len(text)) >= READ_ALSO_LINK_SHARE


def is_page_link(link: HtmlElement) -> bool:
    """Tell whether LINK goes to another page (not to an anchor of this one, not nowhere)."""
    return not (link.get("href") or "#").strip().startswith("#")


def wholly_links(text: str, links: list[HtmlElement]) -> bool:
    """Tell whether TEXT (a block's) is made of its LINKS' texts and their separators."""
    return sum(len(text_of(link)) for link in links) >= len(text) - len(links)


def is_labelled_teaser(element: HtmlElement) -> bool:
    """Tell whether a paragraph or item is a short label and a link to another page, in any
    language: "Read also: <a>title</a>", "<b>Topic:</b> <a>title</a>", "LABEL | <a>title</a>".

    The link (three words or more) ends the block; the label before it has at most
    LABEL_MAX_WORDS words and ends with a separator.
    """
    links = list(element.iter("a"))
    if len(links) != 1 or not is_page_link(links[0]):
        return False
    link = text_of(links[0])
    text = text_of(element)
    if len(link.split()) < TEASER_LINK_MIN_WORDS or not text.endswith(link):
        return False
    label = text[: len(text) - len(link)].strip()
    words = len(label.rstrip("".join(LABEL_ENDS) + " ").split())
    return 0 < words <= LABEL_MAX_WORDS and label.endswith(LABEL_ENDS)


def is_teaser_list(element: HtmlElement) -> bool:
    """Tell whether a list's items (two or more) are each wholly links to other pages: teasers,
    however long their titles and summaries."""
    items = [child for child in element if child.tag == "li"]
    if len(items) < 2 or len(items) != len(element):
        return False
    for item in items:
        text = text_of(item)
        links = list(item.iter("a"))
        if not text or not links or not all(is_page_link(link) for link in links):
            return False
        if not wholly_links(text, links):
            return False
    return True


def is_link_cluster(element: HtmlElement) -> bool:
    """Tell whether an inline element holds only links, two or more of them titles (3+ words)
    of other pages: a hover card of teasers inside a paragraph."""
    links = list(element.iter("a"))
    titles = [
        link for link in links
        if is_page_link(link) and len(text_of(link).split()) >= TEASER_LINK_MIN_WORDS
    ]
    return len(titles) >= 2 and wholly_links(text_of(element), links)


def with_title(element: HtmlElement) -> HtmlElement:
    """ELEMENT, or the blocks around it that add only a short title to it ("More on this")."""
    words = len(text_of(element).split())
    block, parent = element, element.getparent()
    while (
        parent is not None and parent.tag not in ("html", "body", "main", "article")
        and not is_stop_block(parent)
        and len(text_of(parent).split()) - words <= LABEL_MAX_WORDS
    ):
        block, parent = parent, parent.getparent()
    return block


def remove_boxes(tree: HtmlElement, markers: Markers) -> int:
    """Drop newsletter, consent and paywall boxes, "read also" lines, labelled teaser links,
    teaser lists and hover cards of teaser links; return how many."""
    doomed = [
        element for element in tree.iter(*TEASER_TAGS, "section", "form", "ul", "ol")
        if is_box(element, markers) or (
            element.tag in TEASER_TAGS and is_read_also(element, markers.read_also_prefixes)
        ) or (element.tag in ("p", "li") and is_labelled_teaser(element))
        or (element.tag in ("ul", "ol") and is_teaser_list(element))
    ]
    doomed = [with_title(element) if element.tag in ("ul", "ol") else element for element in doomed]
    clusters = [span for span in tree.iter("span") if is_link_cluster(span)]
    clustered = set(clusters)
    doomed += [  # the innermost: the hover card, not the name in the sentence around it
        span for span in clusters
        if not any(inner in clustered for inner in span.iterdescendants("span"))
    ]
    for element in doomed:
        drop_element(element)
    return len(doomed)
