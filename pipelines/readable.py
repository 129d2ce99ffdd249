"""readability-lxml's Document with its costliest steps redone: same results, less CPU.

Each override gives the text and classes readability-lxml 0.9 gives for the trees
`parse_html` builds (comments and processing instructions already dropped by the parser, no
namespaced tags); its docstring says why. docs/extraction.md records the check.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from lxml import etree
from lxml.etree import tounicode
from lxml.html import HtmlElement, fragment_fromstring
from readability import Document
from readability.cleaners import html_cleaner
from readability.readability import REGEXES, clean

HIDDEN_OR_STYLED_XPATH = etree.XPath("//*[@hidden or @style]")
KILLED_TAGS = ("script", "style", "link")
CLASS_OR_ID_XPATH = etree.XPath("descendant::*[@class or @id]")
PROTECTED_TAGS = ("pre", "code")
SEMANTIC_TAGS = ("main", "article", "math")
CASED_PATTERNS = {
    name: re.compile(REGEXES[name].pattern)
    for name in ("unlikelyCandidatesRe", "okMaybeItsACandidateRe", "positiveRe", "negativeRe")
}
INLINE_TAGS = frozenset({"a", "b", "cite", "code", "em", "font", "i", "small", "span",
                         "strong", "sub", "sup", "u"})
LONG_RUN = 255
LONG_SPACES = re.compile(r"\s{255,}")
SPACE_RUN = re.compile(" {2,}")


def cleaned_length(text: str) -> int:
    """len(readability's clean(TEXT)), without its three substitutions where it can.

    clean() caps whitespace runs at 255 spaces, turns each run holding a line break into
    one, then each tab and each run of spaces and tabs into one space, and strips. A run
    with a line break comes out one character long either way, so stripping the lines
    does the second step. Tabs left outside such runs (readability replaces a tab alone
    but not a tab followed by a space) and long runs without a line break go through
    clean() itself.
    """
    if "\n" in text:
        text = "\n".join(line for line in (part.strip() for part in text.split("\n")) if line)
    if "\t" in text or (len(text) >= LONG_RUN and LONG_SPACES.search(text)):
        return len(clean(text))
    if "  " in text:
        text = SPACE_RUN.sub(" ", text)
    return len(text.strip())


def has_match(name: str, text: str) -> bool:
    """REGEXES[NAME].search(TEXT), on ASCII text as a case-sensitive search of text.lower().

    The class/id patterns are alternations of lower-case ASCII words, and ASCII text has no
    character that matches a word's letter under IGNORECASE but its own two cases.
    """
    if text.isascii():
        return CASED_PATTERNS[name].search(text.lower()) is not None
    return REGEXES[name].search(text) is not None


def clean_iframe_source(iframe: HtmlElement) -> None:
    """The Cleaner's rewrite_links(_remove_javascript_link) on an iframe's source.

    rewrite_links sets every link to its stripped value ("" for a javascript-like scheme);
    a link without ":" or "%" cannot hold a scheme, so the Cleaner's test is skipped for it.
    """
    source = iframe.get("src")
    if source is None:
        return
    stripped = source.strip()
    new = (
        html_cleaner._remove_javascript_link(stripped)
        if ":" in stripped or "%" in stripped else stripped
    )
    if new != source:
        iframe.set("src", new)


def drop_like_readability(doc: HtmlElement) -> bool:
    """Readability's hidden and display:none drops, then what its Cleaner changes that it reads.

    The Cleaner kills scripts, styles and links, renames <image> to <img> and rewrites
    javascript links; comments and PIs are gone already. Readability reads no link but an
    iframe's src (video iframes are kept), and its summary escapes "<" and ">" in attribute
    values, so the other links and the event and style attributes the Cleaner also drops
    cannot reach its text: they are left as they are. Tells whether a <base href> is left.
    """
    for element in HIDDEN_OR_STYLED_XPATH(doc):
        if element.get("hidden") is not None or REGEXES["displayNoneRe"].search(
            element.get("style") or ""
        ):
            element.drop_tree()
    has_base = False
    for element in list(doc.iter(*KILLED_TAGS, "image", "iframe", "base")):
        if element.tag in KILLED_TAGS:
            element.drop_tree()
        elif element.tag == "image":
            element.tag = "img"
        elif element.tag == "iframe":
            clean_iframe_source(element)
        else:
            has_base = has_base or element.get("href") is not None
    return has_base


def block_holders(root: HtmlElement) -> set[HtmlElement]:
    """The elements with a descendant whose start tag matches readability's divToPElementsRe.

    Readability searches the str() of the UTF-8 bytes, so each tag is tested as it appears
    there (a non-ASCII letter as its escaped bytes).
    """
    pattern = REGEXES["divToPElementsRe"]
    verdicts: dict[str, bool] = {}
    holders: set[HtmlElement] = set()
    for element in root.iter(etree.Element):
        tag = element.tag
        if tag not in verdicts:
            verdicts[tag] = pattern.search(str(f"<{tag}".encode())) is not None
        if not verdicts[tag]:
            continue
        parent = element.getparent()
        while parent is not None and parent not in holders:
            holders.add(parent)
            parent = parent.getparent()
    return holders


class ReadableDocument(Document):
    """readability's Document over an lxml tree (left untouched), built without a URL."""

    def __init__(self, tree: HtmlElement) -> None:
        super().__init__(tree)
        self.lengths: dict[str, int] = {}

    def text_length(self, element: HtmlElement) -> int:
        """readability's text_length(ELEMENT), each distinct text measured once."""
        text = element.text_content() or ""
        if text not in self.lengths:
            self.lengths[text] = cleaned_length(text)
        return self.lengths[text]

    def _parse(self, input: HtmlElement) -> HtmlElement:
        """Readability's _parse on a copy, with its Cleaner pass replaced by what it changes.

        Readability mutates the tree it is given and its Cleaner deep-copies it; copying
        first lets the retry pass start from the same tree without a second copy. Without a
        <base href>, resolve_base_href changes nothing.
        """
        doc = copy.deepcopy(input)
        self.encoding = "utf-8"
        if drop_like_readability(doc):
            doc.resolve_base_href(handle_failures=self.handle_failures)
        return doc

    def remove_unlikely_candidates(self) -> None:
        """Readability's, over the elements with a class or id, testing each name once.

        Its ancestor-or-self and descendant-or-self XPath tests are tag-filtered walks.
        """
        verdicts: dict[str, bool] = {}
        for elem in CLASS_OR_ID_XPATH(self.html):
            names = f"{elem.get('class', '')} {elem.get('id', '')}"
            verdict = verdicts.get(names)
            if verdict is None:
                verdict = verdicts[names] = len(names) >= 2 and (
                    has_match("unlikelyCandidatesRe", names)
                    and not has_match("okMaybeItsACandidateRe", names)
                )
            if (
                verdict
                and elem.tag not in ("html", "body")
                and elem.tag not in PROTECTED_TAGS
                and next(elem.iterancestors(*PROTECTED_TAGS), None) is None
                and next(elem.iter(*SEMANTIC_TAGS), None) is None
            ):
                elem.drop_tree()

    def transform_misused_divs_into_paragraphs(self) -> None:
        """Readability's, with its serialize-and-search test read from the descendants' tags.

        Serialized as XML, text and attribute values escape "<", so the pattern can only
        match a descendant's start tag; renaming a div to p keeps it a match. An inline
        child without children serializes to its own (inline) tags and escaped text, so
        only inline children with children are serialized, as HTML as readability does,
        and only when they hold no match already.
        """
        holders = block_holders(self.html)
        for elem in self.tags(self.html, "div"):
            if elem not in holders:
                elem.tag = "p"

        for elem in self.tags(self.html, "div"):
            children = list(elem)
            paragraph = None
            if elem.text and elem.text.strip():
                p = fragment_fromstring("<p/>")
                p.text = elem.text
                elem.text = None
                elem.insert(0, p)
                paragraph = p

            for child in children:
                if child.tag == "br":
                    paragraph = None
                    continue
                if child.tag not in INLINE_TAGS or child in holders or (
                    len(child) and REGEXES["divToPElementsRe"].search(
                        tounicode(child, method="html")
                    )
                ):
                    paragraph = None
                    continue
                if paragraph is None:
                    paragraph = fragment_fromstring("<p/>")
                    child.addprevious(paragraph)
                paragraph.append(child)

            for pos, child in reversed(list(enumerate(elem))):
                if child.tail and child.tail.strip():
                    p = fragment_fromstring("<p/>")
                    p.text = child.tail
                    child.tail = None
                    elem.insert(pos + 1, p)
                if child.tag == "br":
                    child.drop_tree()

    def class_weight(self, e: HtmlElement) -> int:
        """Readability's for a Document without positive or negative keywords, via has_match."""
        weight = 0
        for feature in (e.get("class", None), e.get("id", None)):
            if feature:
                if has_match("negativeRe", feature):
                    weight -= 25
                if has_match("positiveRe", feature):
                    weight += 25
        return weight

    def get_link_density(self, elem: HtmlElement) -> float:
        """Readability's (its findall(".//a") is the a descendants), through text_length."""
        link_length = sum(self.text_length(link) for link in elem.iterdescendants("a"))
        return float(link_length) / max(self.text_length(elem), 1)

    def score_paragraphs(self) -> dict[HtmlElement, dict[str, Any]]:
        """Readability's, through cleaned_length and without its debug lines."""
        candidates: dict[HtmlElement, dict[str, Any]] = {}
        ordered = []
        for elem in self.tags(self._html(), "p", "pre", "td", "blockquote"):
            parent_node = elem.getparent()
            if parent_node is None:
                continue
            grand_parent_node = parent_node.getparent()
            text = elem.text_content() or ""
            inner_text_len = cleaned_length(text)
            if inner_text_len < self.min_text_length:
                continue
            if parent_node not in candidates:
                candidates[parent_node] = self.score_node(parent_node)
                ordered.append(parent_node)
            if grand_parent_node is not None and grand_parent_node not in candidates:
                candidates[grand_parent_node] = self.score_node(grand_parent_node)
                ordered.append(grand_parent_node)
            content_score = 1 + text.count(",") + 1 + min((inner_text_len / 100), 3)
            candidates[parent_node]["content_score"] += content_score
            if grand_parent_node is not None:
                candidates[grand_parent_node]["content_score"] += content_score / 2.0

        for elem in ordered:
            candidate = candidates[elem]
            candidate["content_score"] *= 1 - self.get_link_density(elem)
        return candidates
