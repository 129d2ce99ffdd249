"""Author names: declared sources in order, bylines' lead words, agencies, photo credits."""

from __future__ import annotations

import json

import pytest

from pipelines.authors import normalize_authors
from pipelines.extract import extract_article
from pipelines.markers import load_markers

URL = "https://news.example.org/2024/03/07/reservoir-at-lowest-level"
TEXT = "".join(
    f"<p>{sentence}</p>" for sentence in (
        "The regional water board confirmed on Friday that the reservoir had reached its"
        " lowest level in two decades, and announced restrictions on garden watering.",
        "Officials said the measures would stay in place until autumn rains refill the basin,"
        " and asked households to report leaks in the public network as soon as possible.",
    )
)


def page(head: str = "", before: str = "", after: str = "") -> str:
    """An article page with HEAD markup, BEFORE and AFTER its text."""
    return (
        "<html><head><title>Reservoir at lowest level</title>"
        f"<meta property='og:type' content='article'>{head}</head><body>"
        f"<article><h1>Reservoir at lowest level</h1>{before}{TEXT}</article>{after}</body></html>"
    )


def names(*raw: str, url: str = "", exclude: frozenset[str] = frozenset()) -> list[str]:
    """RAW author values normalized with the configured markers."""
    markers = load_markers()
    return normalize_authors(list(raw), markers.byline_prefixes, exclude, url,
                             markers.image_words)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Erstellt von Anna Berger", ["Anna Berger"]),
        ("Zeige alle Beiträge von Anna Berger →", ["Anna Berger"]),
        ("veröffentlicht von Jonas", ["Jonas"]),
        ("Walter von Aachen", ["Walter von Aachen"]),
        ("Ursula von der Leyen", ["Ursula von der Leyen"]),
        ("Jana Keller (jke)", ["Jana Keller"]),
        ("Nicolas Gutierrez C.", ["Nicolas Gutierrez C."]),
        ("Perry Bacon Jr.", ["Perry Bacon Jr."]),
        ("By Jana Keller.", ["Jana Keller"]),
    ],
)
def test_lead_words_and_role_notes_leave_the_name(raw: str, expected: list[str]) -> None:
    """Lead words go, a name's particle ("von der") stays, an initial keeps its dot."""
    assert names(raw) == expected


def test_an_agency_alone_is_an_author_a_credential_after_a_name_is_not() -> None:
    """"AP" credited alone is kept; "MS" after a name in the same byline is a credential."""
    assert names("Jana Keller", "AP") == ["Jana Keller", "AP"]
    assert names("Dr Ada Park, MS, RDN") == ["Dr Ada Park"]


def test_photo_credits_and_the_site_are_no_authors() -> None:
    """A picture's credit is no author, nor the host; a person's own site keeps its author."""
    assert names("Photograph by Jana Keller", "Foto: Anna Berger") == []
    assert names("Example", url="https://example.net/a") == []
    assert names("Jana Keller", url="https://janakeller.net/a") == ["Jana Keller"]


def test_a_source_naming_only_the_site_falls_through_to_the_next() -> None:
    """JSON-LD naming only the publisher as author gives way to the page's rel=author link."""
    ld = {"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Daily Example"},
          "publisher": {"@type": "Organization", "name": "Daily Example"}}
    html = page(head=f"<script type='application/ld+json'>{json.dumps(ld)}</script>",
                before="<p class='byline'>By <a rel='author' href='/a/jk'>Jana Keller</a></p>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.authors == ["Jana Keller"]


def test_repeated_author_meta_tags_surname_first() -> None:
    """One meta tag per author, surname first ("Keller, Jana"), gives every name in order."""
    head = ("<meta name='dc.creator' content='Keller, Jana'>"
            "<meta name='dc.creator' content='Berger, Anna'>")
    article = extract_article(page(head=head), URL)
    assert article is not None
    assert article.authors == ["Jana Keller", "Anna Berger"]


def test_an_address_meta_gives_way_to_the_next_author_meta() -> None:
    """An author meta holding an address is skipped for the next author meta's name."""
    head = ("<meta property='article:author' content='https://news.example.org/authors'>"
            "<meta name='sailthru.author' content='Jana Keller'>")
    article = extract_article(page(head=head), URL)
    assert article is not None
    assert article.authors == ["Jana Keller"]


def test_a_comment_form_field_is_no_byline() -> None:
    """The "Name *" label of a comment form named "comment-form-author" is not an author."""
    form = ("<form><p class='comment-form-author'><label for='author'>Name *</label>"
            "<input id='author' name='author'></p></form>")
    article = extract_article(page(after=form), URL)
    assert article is not None
    assert "Name" not in article.authors
