"""Merge policy: near-duplicates, the main version, revisions and revisits (docs/dedup.md)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from storage.models import Story, UrlRelation
from storage.read import iter_stories, near_duplicate_candidates, story_revisions
from storage.write import SaveOutcome, save_article, touch_url
from tests.test_storage import T0, known_urls_of, record, save, sessions  # noqa: F401

A = "https://a.example/story.html"
B = "https://b.example/copy.html"


def test_near_duplicate_merges_and_earliest_published_becomes_main(sessions) -> None:  # noqa: F811
    assert save(sessions, record(A, "Later text.", published_at=T0, minhash=b"sig-a",
                                 bands=(1, 2))) is SaveOutcome.NEW
    earlier = record(B, "Earlier text.", published_at=T0 - dt.timedelta(hours=1),
                     near_duplicate_of=1, fetched_at=T0 + dt.timedelta(minutes=1),
                     minhash=b"sig-b", bands=(2, -3))
    assert save(sessions, earlier) is SaveOutcome.UPDATED
    with sessions() as session:
        (story,) = list(iter_stories(session))
        # The story's band keys are its main version's: the old ones find it no more.
        assert near_duplicate_candidates(session, [1, 2, -3]) == [(story.id, b"sig-b")]
        assert near_duplicate_candidates(session, [1]) == []
    assert (story.url, story.text) == (B, "Earlier text.")
    assert {u.url: u.relation for u in story.urls} == {A: "aggregator", B: "original"}


def test_later_shorter_copy_changes_nothing_but_its_url(sessions) -> None:  # noqa: F811
    save(sessions, record(A, "The original text, long.", published_at=T0))
    copy = record(B, "Short copy.", published_at=T0 + dt.timedelta(hours=2),
                  near_duplicate_of=1, fetched_at=T0 + dt.timedelta(hours=3))
    assert save(sessions, copy) is SaveOutcome.DUPLICATE
    with sessions() as session:
        (story,) = list(iter_stories(session))
    assert (story.url, story.text) == (A, "The original text, long.")
    seen = {u.url: (u.relation, u.first_seen) for u in story.urls}
    assert seen == {A: ("original", T0), B: ("aggregator", T0 + dt.timedelta(hours=3))}


def test_changed_main_article_keeps_a_revision(sessions) -> None:  # noqa: F811
    save(sessions, record(A, "First version.", title="Old title"))
    later = T0 + dt.timedelta(days=1)
    changed = record(A, "Second version.", title="New title", fetched_at=later)
    assert save(sessions, changed) is SaveOutcome.REVISED
    assert save(sessions, changed) is SaveOutcome.DUPLICATE
    with sessions() as session:
        (story,) = list(iter_stories(session))
        (revision,) = story_revisions(session, story.id)
        assert session.get(Story, story.id).updated_at == later
    assert (story.title, story.text) == ("New title", "Second version.")
    assert (revision.revision, revision.url, revision.title, revision.text) == (
        1, A, "Old title", "First version.")
    assert revision.replaced_at == later


def test_revisit_validators_and_not_modified(sessions) -> None:  # noqa: F811
    save(sessions, record(A, http_etag='"v1"', http_last_modified="Wed, 14 Aug 2024 08:00:00 GMT",
                          aliases=(f"{A}?utm_source=x",), alias_kinds=((f"{A}?utm_source=x",
                                                                         "tracking"),)))
    later = T0 + dt.timedelta(days=2)
    with sessions.begin() as session:
        assert touch_url(session, A, later, '"v2"', None)
        assert not touch_url(session, "https://nowhere.example/", later, None, None)
    with sessions() as session:
        known = known_urls_of(session)
        (story,) = list(iter_stories(session))
    assert known[A] == [later, '"v2"', "Wed, 14 Aug 2024 08:00:00 GMT"]
    assert known[f"{A}?utm_source=x"] == [T0, None, None]
    assert {u.url: u.kind for u in story.urls} == {A: None, f"{A}?utm_source=x": "tracking"}
    assert story.to_json()["urls"][0] == {
        "url": A, "relation": "original", "kind": None,
        "first_seen": T0.isoformat(), "last_seen": later.isoformat()}


def test_unknown_near_duplicate_id_makes_a_new_story(sessions) -> None:  # noqa: F811
    with sessions.begin() as session:
        outcome, story_id = save_article(session, record(A, near_duplicate_of=42))
    assert (outcome, story_id) == (SaveOutcome.NEW, 1)
    with sessions() as session:
        assert [u.relation for u in session.get(Story, 1).urls] == [UrlRelation.ORIGINAL]


def test_amp_variant_never_revises_nor_stands_for_the_main_page(sessions) -> None:  # noqa: F811
    amp = "https://a.example/amp/story.html"
    variant = record(A, "AMP text.", aliases=(amp,), alias_kinds=((amp, "amp"),),
                     fetched_url=amp, variant=True, http_etag='"amp"')
    assert save(sessions, variant) is SaveOutcome.NEW
    main = record(A, "Main text.", fetched_at=T0 + dt.timedelta(minutes=1), http_etag='"m"')
    assert save(sessions, main) is SaveOutcome.UPDATED
    later = record(A, "AMP text, later.", aliases=(amp,), fetched_url=amp, variant=True,
                   fetched_at=T0 + dt.timedelta(minutes=2))
    assert save(sessions, later) is SaveOutcome.DUPLICATE
    with sessions() as session:
        (story,) = list(iter_stories(session))
        assert story_revisions(session, story.id) == []
        etags = {url: etag for url, (_seen, etag, _lm) in known_urls_of(session).items()}
    assert story.text == "Main text."
    assert etags == {amp: None, A: '"m"'}


def test_one_transaction_for_many_records_stores_what_one_each_stores(sessions) -> None:  # noqa: F811
    """A batch (the store's) merges as per-record transactions do, URL lists included."""
    hour = dt.timedelta(hours=1)
    records = [
        record(A, "Text of A.", published_at=T0),
        record("https://c.example/c.html", "C.", published_at=T0 + hour, near_duplicate_url=A),
        record(B, "Text of B.", published_at=T0 - hour, near_duplicate_url=A),
        record("https://e.example/e.html", "Text of E.", published_at=T0 - 2 * hour,
               near_duplicate_url=B),
        record(A, "Text of A.", published_at=T0, fetched_at=T0 + hour,
               aliases=(f"{A}?utm_source=x",), alias_kinds=((f"{A}?utm_source=x", "tracking"),)),
    ]

    def stored() -> tuple[str, dict[str, str]]:
        with sessions() as session:
            (story,) = list(iter_stories(session))
        return story.url, {u.url: u.relation for u in story.urls}

    outcomes = [save(sessions, rec) for rec in records]
    one_each = stored()
    with sessions.begin() as session:
        session.execute(delete(Story))
    batch, kept = [], []  # stories kept in the session's identity map, as a batch may
    with sessions.begin() as session:
        for rec in records:
            outcome, story_id = save_article(session, rec)
            batch.append(outcome)
            kept.append(session.get(Story, story_id))
    assert batch == outcomes
    assert stored() == one_each
    assert one_each[0] == "https://e.example/e.html"
    assert list(one_each[1].values()).count("original") == 1
