"""Unit tests for pipelines.pull_quotes: repeated or declared pull quotes leave the body."""

from __future__ import annotations

from lxml.html import document_fromstring

from pipelines.extract import extract_article
from pipelines.pull_quotes import remove_pull_quotes
from pipelines.tree_text import text_of

SAID = "The river rose faster than anyone in the valley had seen in forty years"
RUNNING = (
    "<p>Floods closed the main road on Tuesday morning after a night of heavy rain in the hills "
    "above the town, and the school stayed shut.</p>"
    f"<p>“{SAID},” the mayor said at a press conference in the town hall on Tuesday.</p>"
    "<p>Engineers inspected the old bridge in the afternoon and said it would reopen once the "
    "water fell below the warning mark set by the regional authority.</p>"
)


def page(quote: str) -> str:
    """An article page whose body holds QUOTE between its first and second paragraphs."""
    first, rest = RUNNING.split("</p>", 1)
    return (
        "<html><head><title>Floods close the valley road</title></head><body><article>"
        f"<h1>Floods close the valley road</h1>{first}</p>{quote}{rest}</article></body></html>"
    )


def test_a_repeated_quote_goes_with_its_attribution_and_the_running_text_stays() -> None:
    tree = document_fromstring(page(
        f'<div class="story-quote"><blockquote>{SAID}.</blockquote><p>The mayor</p></div>'
    ))
    assert remove_pull_quotes(tree) == 1
    text = text_of(tree)
    assert text.count("faster than anyone") == 1
    assert "the mayor said" in text
    assert text.lower().count("mayor") == 1  # the attribution went with the quote


def test_a_declared_pull_quote_goes_even_when_it_is_said_only_there() -> None:
    tree = document_fromstring(page(
        '<div class="Pull-Quote"><p>Nobody had ever seen the square under water.</p></div>'
    ))
    assert remove_pull_quotes(tree) == 1
    assert "under water" not in text_of(tree)


def test_a_quoted_passage_said_once_stays() -> None:
    tree = document_fromstring(page(
        "<blockquote><p>All roads in the lower valley are closed until further notice, the "
        "authority wrote in its bulletin.</p></blockquote>"
    ))
    assert remove_pull_quotes(tree) == 0
    assert "further notice" in text_of(tree)


def test_of_two_equal_quote_blocks_the_first_stays() -> None:
    quote = "<blockquote><p>Stay away from the river banks until the water falls.</p></blockquote>"
    tree = document_fromstring(page(quote + "<p>More rain is due on Friday.</p>" + quote))
    assert remove_pull_quotes(tree) == 1
    assert text_of(tree).count("Stay away from the river banks") == 1


def test_the_article_body_holds_the_quote_once() -> None:
    article = extract_article(page(
        f'<aside class="pullquote"><p>{SAID}</p><p>— The mayor</p></aside>'
        f'<figure class="quote"><blockquote>{SAID}</blockquote><figcaption>Mayor</figcaption>'
        "</figure>"
    ), "https://news.example/floods")
    assert article is not None
    assert article.text.count("faster than anyone") == 1
    assert "the mayor said" in article.text
