"""Small text measures over lxml elements shared by the tree-cleaning modules."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

ARTICLE_BODY_XPATH = etree.XPath("descendant::*[@itemprop = 'articleBody']")


def drop_element(element: HtmlElement) -> None:
    """Remove ELEMENT from its tree, keeping its tail text."""
    if element.getparent() is not None:
        element.drop_tree()


def text_of(element: HtmlElement) -> str:
    """Return the whitespace-normalised text content of ELEMENT."""
    return " ".join("".join(element.itertext()).split())


def is_stop_block(element: HtmlElement) -> bool:
    """Tell whether ELEMENT is or holds an h1, a main or the itemprop=articleBody element."""
    return next(element.iter("h1", "main"), None) is not None or bool(ARTICLE_BODY_XPATH(element))


def link_density(element: HtmlElement, text_length: int) -> float:
    """Share of ELEMENT's text (TEXT_LENGTH characters of text_of) that sits inside links."""
    links = sum(len(text_of(link)) for link in element.iter("a"))
    return links / text_length if text_length else 1.0
