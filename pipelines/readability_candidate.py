"""readability-lxml's candidate body (public Document API) and its captions and datelines."""

from __future__ import annotations

import copy
import logging
import unicodedata

from lxml import etree
from lxml.html import HtmlElement
from readability import Document

from pipelines.tokens import token_string

logger = logging.getLogger(__name__)

READABILITY_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote",
                      "tr", "br", "section", "article", "table", "ul", "ol", "figure")
ASIDE_TAGS = ("figure", "figcaption", "time")
ASIDE_CLASS_WORDS = ("caption", "credit", "copyright", "byline", "author", "date",
                     "attribution", "off-screen", "sr-only", "hidden")
ASIDE_MAX_CHARS = 1000
# readability's cleaner drops these elements before it scores anything, and it reads no link
UNREAD_TAGS = ("script", "link", "style")
UNREAD_ATTRIBUTES = ("href",)
# a hyphenation hint, not text: it splits words (trafilatura's text has none)
SOFT_HYPHEN = "\xad"


def readability_input(tree: HtmlElement) -> HtmlElement:
    """A copy of the page's <body> for readability, without what readability never reads.

    Its summary scores the body's blocks only: the head, the scripts, stylesheet links and
    link targets, which its cleaner removes or ignores, would only be copied and walked (the
    same summary text and classes on every dev and peer page). The copy sits in an <html>
    root of a document of its own, as parsing the body's HTML text would give it, made by
    the tree's own parser (lxml's element classes looked up in C): the caller's tree is left
    as it is, and readability's own changes (hidden blocks dropped) stay in the copy.
    """
    body = tree.find("body")
    if body is None:
        page = copy.deepcopy(tree)
    else:
        page = tree.getroottree().parser.makeelement("html")
        page.append(copy.deepcopy(body))
        page[0].tail = None
    for element in list(page.iter(*UNREAD_TAGS)):
        element.drop_tree()
    etree.strip_attributes(page, *UNREAD_ATTRIBUTES)
    return page


def readability_html(tree: HtmlElement) -> HtmlElement | None:
    """Readability's main-content block (its public Document.summary) as an lxml tree, or None.

    The page goes to readability as a parsed tree (readability_input), which Document takes
    as it takes HTML text (python-readability issue 140): the page is not serialized and
    parsed again.
    """
    try:
        summary = Document(readability_input(tree)).summary(html_partial=True)
    except ValueError:  # readability's Unparseable: nothing it can score
        logger.debug("readability found nothing to parse")
        return None
    return etree.fromstring(summary, etree.HTMLParser()) if summary.strip() else None


def readability_text(root: HtmlElement | None) -> str:
    """Readability's main-content block as plain text, one block per line, no soft hyphens,
    in Unicode's composed form (NFC), as trafilatura gives its text: a page that writes "ü"
    as "u" and a combining mark would otherwise split words and agree with no other pass."""
    if root is None:
        return ""
    for element in root.iter(*READABILITY_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    text = unicodedata.normalize("NFC", "".join(root.itertext()).replace(SOFT_HYPHEN, ""))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def aside_elements(root: HtmlElement) -> list[HtmlElement]:
    """Figures, captions, times and elements whose class names a caption, credit, date...

    str.lower() finds these ASCII words wherever translating their upper-case letters
    would: no other character lowers to one of their letters but U+0130, to "i" and U+0307,
    and no word ends in "i".
    """
    return [
        element for element in root.iter(etree.Element)
        if element.tag in ASIDE_TAGS or (
            (names := element.get("class")) is not None
            and any(word in names.lower() for word in ASIDE_CLASS_WORDS)
        )
    ]


def aside_tokens(root: HtmlElement | None) -> str:
    """Token string of the short captions, credits and datelines in readability's block."""
    if root is None:
        return " "
    texts = ("".join(element.itertext()) for element in aside_elements(root))
    return " ".join(token_string(text) for text in texts if len(text.strip()) <= ASIDE_MAX_CHARS)
