"""Credits not verified (the original could not be fetched) name an original, merge nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Story, UrlRelation
from storage.write import SaveOutcome
from tests.test_storage import record, save, sessions  # noqa: F401

CITED = "https://ministry.example/"


def test_unverified_credits_keep_their_stories_apart(sessions) -> None:  # noqa: F811
    for number in (1, 2):
        copy = record(f"https://a.example/story-{number}.html", f"Story number {number}.",
                      original_url=CITED, original_verified=False)
        assert save(sessions, copy) is SaveOutcome.NEW
    with sessions() as session:
        stories = list(session.scalars(select(Story).order_by(Story.id)))
    assert [s.url for s in stories] == ["https://a.example/story-1.html",
                                        "https://a.example/story-2.html"]
    assert [(s.original_url, s.original_verified) for s in stories] == [(CITED, False)] * 2


def test_a_verified_credit_replaces_an_unverified_one(sessions) -> None:  # noqa: F811
    first = record("https://a.example/copy.html", "The story.", original_url=CITED,
                   original_verified=False)
    save(sessions, first)
    original = "https://b.example/original.html"
    second = record("https://c.example/copy.html", "The story.", original_url=original,
                    relation=UrlRelation.AGGREGATOR)
    assert save(sessions, second) is SaveOutcome.UPDATED
    with sessions() as session:
        (story,) = list(session.scalars(select(Story)))
    assert (story.url, story.original_url, story.original_verified) == (original, original, True)
