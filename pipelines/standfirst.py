"""The standfirst: lead prose between the article's heading and the body's first line."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from pipelines.tokens import joined_tokens, token_string
from pipelines.tree_text import link_density, text_of

LEAD_TAGS = frozenset({"p", "div", "h2", "h3", "h4", "h5", "h6"})
INLINE_TAGS = frozenset({"a", "b", "strong", "em", "i", "span", "u", "small", "mark", "br",
                         "sup", "sub", "abbr", "cite", "q", "time", "code", "img", "wbr"})
NOT_LEAD_ANCESTORS = frozenset({"figure", "figcaption", "aside", "nav", "footer", "form",
                                "table", "li", "blockquote"})
LEAD_MIN_WORDS = 12
LEAD_MAX_LINK_DENSITY = 0.2
SENTENCE_END = re.compile(r"[.!?…。][\"'”’»)\]]*$")
NOT_LEAD_NAMES = ("caption", "credit", "quote", "author", "byline", "bio")


def is_leaf_block(element: HtmlElement) -> bool:
    """Tell whether ELEMENT is a block whose children are all inline."""
    return all(child.tag in INLINE_TAGS for child in element)


def in_excluded_part(element: HtmlElement) -> bool:
    """Tell whether ELEMENT sits in a figure, caption, aside, list, table or form."""
    for ancestor in element.iterancestors():
        if ancestor.tag in NOT_LEAD_ANCESTORS:
            return True
    return False


def is_lead_prose(element: HtmlElement, text: str) -> bool:
    """Tell whether a leaf block's TEXT reads as a lead sentence, not a caption, quote or bio."""
    names = (element.get("class") or "").lower()
    return (
        len(text.split()) >= LEAD_MIN_WORDS
        and SENTENCE_END.search(text) is not None
        and not any(name in names for name in NOT_LEAD_NAMES)
        and link_density(element, len(text)) <= LEAD_MAX_LINK_DENSITY
        and not in_excluded_part(element)
    )


def standfirst_lines(tree: HtmlElement, lines: list[str]) -> list[str]:
    """Lead paragraphs the body LINES leave out: prose blocks after the last h1 before the body.

    The body's start is the first leaf block (after an h1) that holds its first line; the
    prose leaf blocks between that h1 and it (a standfirst in a <div>, <h2> or <p> of its
    own) that open the body's container are returned unless the body already holds them.
    Nothing when the body's start is not found after an h1.
    """
    if not lines:
        return []
    first = token_string(lines[0])
    if first == "  ":
        return []
    body = joined_tokens([token for line in lines for token in token_string(line).split()])
    leads: list[tuple[HtmlElement, str]] | None = None
    for element in tree.iter(etree.Element):
        if element.tag == "h1":
            leads = []
            continue
        if leads is None or element.tag not in LEAD_TAGS or not is_leaf_block(element):
            continue
        text = text_of(element)
        joined = token_string(text)
        if first in joined:
            return body_side_leads(leads, element)
        if joined not in body and is_lead_prose(element, text) and text not in (
            lead for _, lead in leads
        ):
            leads.append((element, text))
    return []


def body_side_leads(leads: list[tuple[HtmlElement, str]], start: HtmlElement) -> list[str]:
    """The LEADS that are siblings of the body START or of one of its ancestors.

    A standfirst opens the body's own container; a dek in a header block of its own, beside
    the heading, is a subtitle, not the start of the text.
    """
    ancestors = set(start.iterancestors())
    return [text for element, text in leads if element.getparent() in ancestors]
