"""ReadableDocument gives readability-lxml's own text and classes, on fixtures and odd markup."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
from lxml import etree
from readability import Document
from readability.readability import REGEXES, clean

from pipelines.candidates import aside_tokens, readability_text
from pipelines.cleaning import clean_tree
from pipelines.extract import decode_html, parse_html
from pipelines.markers import load_markers
from pipelines.readable import ReadableDocument, cleaned_length, has_match

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
                           f"{PARAGRAPH}</div><div>{PARAGRAPH}<span><dİv></dİv>{PARAGRAPH}"
                           f"</span><br>{PARAGRAPH}</div>"
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


def test_cleaned_length_is_readabilitys() -> None:
    """cleaned_length is the length of readability's clean() on mixes of odd whitespace."""
    pieces = ["a", "b", " ", "  ", "\n", "\t", "\xa0", "\r", "\u2003", "\x0b", "\x85",
              "\u2028", " " * 300, "\n" * 260, "\xa0" * 256, " \xa0" * 130, "\t\n" * 130]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert cleaned_length(text) == len(clean(text)), repr(text)


@pytest.mark.parametrize(
    "text", ["SideBar", "main-Content", "post-header", "ſidebar", "ARTİCLE", "Komment", ""]
)
@pytest.mark.parametrize(
    "name", ["unlikelyCandidatesRe", "okMaybeItsACandidateRe", "positiveRe", "negativeRe"]
)
def test_has_match_is_the_pattern_search(name: str, text: str) -> None:
    """has_match agrees with readability's case-insensitive pattern, ASCII or not."""
    assert has_match(name, text) == bool(REGEXES[name].search(text))
