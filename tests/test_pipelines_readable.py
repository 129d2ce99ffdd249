"""ReadableDocument gives readability-lxml's own text and classes, on fixtures and odd markup."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree
from readability import Document
from readability.readability import clean

from pipelines.candidates import aside_tokens, readability_text
from pipelines.cleaning import clean_tree
from pipelines.extract import decode_html, parse_html
from pipelines.markers import load_markers
from pipelines.readable import ReadableDocument, cleaned_length

TESTS_DIR = Path(__file__).parent
FIXTURE_PAGES = sorted((TESTS_DIR / "fixtures" / "pages").glob("*/*.html")) + sorted(
    (TESTS_DIR / "sites").glob("*/*.html")
)
PARAGRAPH = (
    "The harbour authority said on Monday that the new ferry line would open in May, with"
    " twelve crossings a day, and that tickets would cost the same as on the bus network."
)
ODD_BODIES = {
    "link between inline runs": f"<div><span>{PARAGRAPH}</span><link rel='x'>"
                                f"<b>{PARAGRAPH}</b><p>{PARAGRAPH}</p></div>",
    "hidden and display none": f"<div hidden><p>{PARAGRAPH} hidden</p></div>"
                               f"<p style='color: red; display:none'>{PARAGRAPH} none</p>"
                               f"<p style='color: red'>{PARAGRAPH}</p>",
    "image tag": f"<div><image src='a.png'><image src='b.png'><p>{PARAGRAPH}</p></div>",
    "video and script iframes": f"<div><p>{PARAGRAPH}</p>"
                                "<iframe src=' https://www.youtube.com '></iframe>"
                                "<iframe src='javascript:alert(1)'></iframe></div>",
    "prefix tags in divs": f"<div>{PARAGRAPH}<span><picture></picture>{PARAGRAPH}</span><br>"
                           f"{PARAGRAPH}</div>"
                           f"<div><abbr>ab</abbr>{PARAGRAPH}<param name='p'></div>"
                           f"<div><a href='#'><article>{PARAGRAPH}</article></a></div>",
    "unlikely classes": f"<div class='sidebar'><p>{PARAGRAPH}</p></div>"
                        f"<div class='comment-content'><p>{PARAGRAPH}</p></div>"
                        f"<div id='footer'><pre>{PARAGRAPH}</pre></div>",
    "base href and spaces": f"<base href='https://example.org/'><div><p>{PARAGRAPH}"
                            "<iframe src='//www.youtube.com/embed/x'></iframe>"
                            f"   \n\t {PARAGRAPH}{' ' * 300}, end</p><a href='x'>a link</a></div>",
}


def readability_view(document: Document) -> tuple[str, str]:
    """The text and aside tokens our merge reads from a readability summary."""
    summary = document.summary(html_partial=True)
    root = etree.fromstring(summary, etree.HTMLParser()) if summary.strip() else None
    return readability_text(root), aside_tokens(root)


def assert_same_view(html: str) -> None:
    """ReadableDocument and readability's Document agree on a parsed, cleaned page."""
    tree = parse_html(decode_html(html))
    assert tree is not None
    tree = clean_tree(tree, load_markers())
    before = etree.tostring(tree)
    expected = readability_view(Document(copy.deepcopy(tree)))
    assert readability_view(ReadableDocument(tree)) == expected
    assert etree.tostring(tree) == before


@pytest.mark.parametrize("page", FIXTURE_PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_pages_read_the_same(page: Path) -> None:
    """Golden and sample-site pages give readability's own text and classes."""
    assert_same_view(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_odd_markup_reads_the_same(name: str) -> None:
    """Markup that each override handles apart gives readability's own text and classes."""
    assert_same_view(
        "<html><head><title>Ferry</title><link rel='stylesheet' href='s.css'></head>"
        f"<body>{ODD_BODIES[name]}<p>{PARAGRAPH}</p></body></html>"
    )


@pytest.mark.parametrize(
    "text", ["", " a b ", "a  b", "a\nb", "a\tb", "\xa0" * 300 + "x", "a" * 300, " x\xa0y "]
)
def test_cleaned_length_is_readabilitys(text: str) -> None:
    """cleaned_length is the length of readability's clean()."""
    assert cleaned_length(text) == len(clean(text))
