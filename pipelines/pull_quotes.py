"""Pull quotes: blocks that repeat a passage the article already holds, or declare themselves one.

A pull quote restates a sentence of the running text in large type, often with the speaker's
name under it. Kept, it doubles that sentence in the body. A quote, caption, aside or figure
block whose text recurs verbatim (as a run of word tokens) elsewhere in the page goes, with
the short attribution around it; the running text keeps the first telling. A block whose
class or id names it a pull quote goes too. A quoted passage that is said only once stays.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from pipelines.tokens import token_string
from pipelines.tree_text import drop_element, is_stop_block, text_of

QUOTE_TAGS = frozenset({"blockquote", "aside", "figure", "figcaption"})
QUOTE_NAMES = ("quote", "caption")
PULL_QUOTE_NAMES = ("pullquote", "quotepull", "pullout")
NAME_SEPARATORS = str.maketrans("", "", "-_ ")
NO_TEXT_TAGS = frozenset({"script", "style", "template", "noscript"})
REPEAT_MIN_WORDS = 6
ATTRIBUTION_MAX_WORDS = 12
PULL_QUOTE_MAX_CHARS = 600


def names_of(element: HtmlElement) -> str:
    """ELEMENT's class and id, lower-cased, without separators ("Pull-Quote" -> "pullquote")."""
    return f"{element.get('class') or ''}{element.get('id') or ''}".lower().translate(
        NAME_SEPARATORS
    )


def is_quote_block(element: HtmlElement) -> bool:
    """Tell whether ELEMENT is a quote, caption, aside or figure block, by its tag or names."""
    if element.tag in QUOTE_TAGS:
        return True
    names = names_of(element)
    return any(name in names for name in QUOTE_NAMES)


def is_declared_pull_quote(element: HtmlElement) -> bool:
    """Tell whether ELEMENT's class or id names it a pull quote (short, not the main block)."""
    names = names_of(element)
    return (
        any(name in names for name in PULL_QUOTE_NAMES)
        and element.tag not in ("html", "body", "main", "article")
        and not is_stop_block(element)
        and len(text_of(element)) <= PULL_QUOTE_MAX_CHARS
    )


def page_tokens(tree: HtmlElement) -> str:
    """The token string of TREE's readable text (no script, style or template text), a word
    break between elements, the tail of TREE itself left out."""
    parts: list[str] = []
    for element in tree.iter():
        if isinstance(element.tag, str) and element.tag not in NO_TEXT_TAGS and element.text:
            parts.append(element.text)
        if element.tail and element is not tree:
            parts.append(element.tail)
    return token_string(" ".join(parts))


def word_count(tokens: str) -> int:
    """The number of words in a token string."""
    return len(tokens.split())


def with_attribution(element: HtmlElement, words: int) -> HtmlElement:
    """ELEMENT, or the quote blocks around it that add only a short attribution to its WORDS."""
    block = element
    parent = block.getparent()
    while (
        parent is not None and is_quote_block(parent) and not is_stop_block(parent)
        and word_count(page_tokens(parent)) - words <= ATTRIBUTION_MAX_WORDS
    ):
        block, parent = parent, parent.getparent()
    return block


def remove_pull_quotes(tree: HtmlElement) -> int:
    """Drop declared pull quotes and quote blocks that repeat text found elsewhere in the page.

    Blocks are taken last first, so of two equal quote blocks the first stays; return how
    many blocks were dropped.
    """
    removed = 0
    text = page_tokens(tree)
    for element in reversed([el for el in tree.iter(etree.Element) if is_quote_block(el)]):
        if element.getroottree().getroot() is not tree or is_stop_block(element):
            continue
        if is_declared_pull_quote(element):
            drop_element(element)
            removed += 1
            continue
        own = page_tokens(element)
        words = word_count(own)
        if words < REPEAT_MIN_WORDS or text.count(own) < 2:
            continue
        block = with_attribution(element, words)
        text = text.replace(page_tokens(block), " ", 1)
        drop_element(block)
        removed += 1
    return removed
