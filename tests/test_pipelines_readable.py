"""readability's candidate, taken through its public Document API, on fixtures and odd markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from lxml.html import tostring
from readability import Document

from pipelines.cleaning import clean_tree
from pipelines.extract import decode_html, parse_page
from pipelines.markers import load_markers
from pipelines.readability_candidate import aside_tokens, readability_html, readability_text

TESTS_DIR = Path(__file__).parent
FIXTURE_PAGES = sorted((TESTS_DIR / "fixtures" / "pages").glob("*/*.html")) + sorted(
    (TESTS_DIR / "sites").glob("*/*.html")
)
PARAGRAPH = (
    "The harbour authority said on Monday that the new ferry line would open in May, with"
    " twelve crossings a day, and that tickets would cost the same as on the bus network."
)


def page_tree(html: str) -> etree._Element:
    """A parsed and cleaned tree, as the extractor hands it to readability."""
    tree = parse_page(decode_html(html))
    assert tree is not None
    return clean_tree(tree, load_markers())


@pytest.mark.parametrize("page", FIXTURE_PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_readability_leaves_the_tree_alone(page: Path) -> None:
    """Readability reads a copy of the page: the tree the other candidates read is unchanged."""
    tree = page_tree(page.read_text(encoding="utf-8"))
    before = etree.tostring(tree)
    readability_html(tree)
    assert etree.tostring(tree) == before


@pytest.mark.parametrize("page", FIXTURE_PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_readability_reads_the_body_as_it_reads_the_whole_page(page: Path) -> None:
    """The head, scripts, stylesheet links and hrefs left out change none of its text or asides."""
    tree = page_tree(page.read_text(encoding="utf-8"))
    summary = Document(tostring(tree, encoding="unicode")).summary(html_partial=True)
    whole = etree.fromstring(summary, etree.HTMLParser()) if summary.strip() else None
    body = readability_html(tree)
    assert aside_tokens(body) == aside_tokens(whole)
    assert readability_text(body) == readability_text(whole)


def test_hidden_blocks_stay_out_of_readabilitys_text() -> None:
    """Readability drops hidden and display:none blocks; visible paragraphs come through."""
    tree = page_tree(
        "<html><head><title>Ferry</title></head><body>"
        f"<div hidden><p>{PARAGRAPH} hidden</p></div>"
        f"<p style='color: red; display:none'>{PARAGRAPH} none</p>"
        f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH} again</p></div></body></html>"
    )
    text = readability_text(readability_html(tree))
    assert f"{PARAGRAPH} again" in text
    assert "hidden" not in text
    assert " none" not in text


def test_a_page_without_text_gives_no_candidate() -> None:
    """A page readability cannot score gives an empty text, never an error."""
    tree = page_tree("<html><body><div></div></body></html>")
    assert readability_text(readability_html(tree)) == ""
