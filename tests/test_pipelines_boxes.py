"""Unit tests for pipelines.boxes: labelled teaser links leave the body, in any language."""

from __future__ import annotations

import pytest
from lxml.html import fragment_fromstring

from pipelines.boxes import is_labelled_teaser, is_link_cluster, is_teaser_list, with_title
from pipelines.extract import extract_article

PROSE = (
    "<p>The council met on Monday evening to vote on the new budget for the coming year, which "
    "sets aside more money for schools, roads and the harbour than any budget before it.</p>"
    "<p>Members argued for three hours about the harbour plan before a narrow majority passed "
    "it, and the mayor said the works would begin in the spring if the weather allows.</p>"
)


@pytest.mark.parametrize("block", [
    '<p><b>Les også: <a href="/a/1">Ny bro åpner for trafikk i neste uke</a></b></p>',
    '<p><strong>FUNDA OLUNYE UDABA LAPHA |</strong> <a href="/a/2">Kuboshwe abahlanu besolwa '
    "ngokugwaza umfundi</a></p>",
    '<li><strong>Verkehr:</strong> <a href="/a/3">Neue Brücke wird im Mai eröffnet</a></li>',
])
def test_a_short_label_and_a_link_to_another_page_is_a_teaser(block: str) -> None:
    assert is_labelled_teaser(fragment_fromstring(block))


@pytest.mark.parametrize("block", [
    '<p>The report <a href="/r">was published on Monday by the council</a></p>',
    '<p><b>Note:</b> <a href="#fn1">see the footnote below this text</a></p>',
    '<p><b>Read:</b> <a href="/a/1">budget</a></p>',
    '<p><b>Also:</b> <a href="/a/1">the harbour plan passed</a> and the schools got more.</p>',
    '<p>Five words of a label here: <a href="/a/1">a link to another page</a></p>',
])
def test_running_text_with_a_link_is_no_teaser(block: str) -> None:
    assert not is_labelled_teaser(fragment_fromstring(block))


def test_labelled_teasers_leave_the_article_body() -> None:
    html = (
        "<html><head><title>Council passes the budget</title></head><body><article>"
        f"<h1>Council passes the budget</h1>{PROSE}"
        '<p><b>Lue myös: <a href="/a/9">Satama avataan uudelleen ensi kesänä</a></b></p>'
        f"{PROSE.replace('Monday', 'Tuesday')}</article></body></html>"
    )
    article = extract_article(html, "https://news.example/budget")
    assert article is not None
    assert "Satama" not in article.text
    assert "narrow majority" in article.text


TEASER_ITEM = (
    '<li><a href="/a/{0}"><div><h3>Harbour works begin</h3><p>2024-10-14</p><p>LATE START: '
    "The works on the harbour wall were due in March but the storms held them back for six "
    "weeks, the council said.</p></div></a></li>"
)


def test_a_list_of_whole_links_is_teasers_however_long_their_summaries() -> None:
    items = "".join(TEASER_ITEM.format(n) for n in range(3))
    assert is_teaser_list(fragment_fromstring(f"<ul>{items}</ul>"))


@pytest.mark.parametrize("items", [
    TEASER_ITEM.format(1),  # one item
    TEASER_ITEM.format(1) + "<li>Plain text item of the article's own list</li>",
    TEASER_ITEM.format(1) + '<li><a href="/b">Harbour report</a>, published in May 2024</li>',
    TEASER_ITEM.format(1) + '<li><a href="#part-2">Part two of this story</a></li>',
])
def test_a_list_with_text_of_its_own_is_no_teaser_list(items: str) -> None:
    assert not is_teaser_list(fragment_fromstring(f"<ul>{items}</ul>"))


def test_teaser_lists_leave_the_article_body() -> None:
    items = "".join(TEASER_ITEM.format(n) for n in range(3))
    html = (
        "<html><head><title>Council passes the budget</title></head><body><article>"
        f"<h1>Council passes the budget</h1>{PROSE}<ul>{items}</ul>"
        f"{PROSE.replace('Monday', 'Tuesday')}</article></body></html>"
    )
    article = extract_article(html, "https://news.example/budget")
    assert article is not None
    assert "storms held them back" not in article.text
    assert "narrow majority" in article.text


def test_a_teaser_list_takes_its_short_title_along() -> None:
    items = "".join(TEASER_ITEM.format(n) for n in range(2))
    box = fragment_fromstring(
        f"<div><p>{'word ' * 30}</p><section><div>More from the harbour</div><ol>{items}</ol>"
        "</section></div>"
    )
    teasers = box.find(".//ol")
    assert with_title(teasers).tag == "section"
    assert with_title(box.find(".//section")).tag == "section"  # the prose around stops it


def test_a_hover_card_of_teaser_links_leaves_the_sentence_around_it() -> None:
    card = (
        '<span class="card"><a href="/people/ana">Ana Lima</a><span><a href="/a/1">Council '
        'passes the harbour budget after a long night</a> <a href="/a/2">Ana Lima asks for a new '
        'ferry line to the islands</a> <a href="/people/ana">MORE</a></span></span>'
    )
    html = (
        "<html><head><title>Council passes the budget</title></head><body><article>"
        f"<h1>Council passes the budget</h1><p>The motion by {card} passed on Monday evening "
        "after members argued for three hours about the harbour plan and the schools.</p>"
        f"{PROSE}</article></body></html>"
    )
    assert is_link_cluster(fragment_fromstring(card).find("span"))
    assert not is_link_cluster(fragment_fromstring('<span><a href="/p">Ana Lima</a></span>'))
    article = extract_article(html, "https://news.example/budget")
    assert article is not None
    assert "The motion by Ana Lima passed on Monday" in article.text
    assert "ferry line" not in article.text
