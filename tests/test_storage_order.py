"""Same records, same stories: every arrival order of a story's copies stores the same story."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from pipelines.dedup import content_hash, normalize_body
from pipelines.neardup import NearDuplicateFinder, permutations, signature, to_bytes
from pipelines.store import write_record
from storage.models import Story, StoryBand, StoryRevision, StoryUrl, UrlRelation
from storage.records import ArticleRecord
from storage.write import SaveOutcome
from tests.test_storage import T0, known_urls_of, record, sessions  # noqa: F401

COEFFICIENTS = permutations(64)
FINDER = NearDuplicateFinder(0.5, 64)
HOUR = dt.timedelta(hours=1)

X = "https://orig.example/news/bridge.html"
X_AMP = "https://orig.example/amp/bridge.html"
C1 = "https://agg-one.example/bridge-post1.html"
C2 = "https://agg-two.example/bridge-post2.html"
U = "https://mirror.example/stories/bridge.html"
P1 = "https://b.example/a/ferry.html"
P2 = "https://b.example/b/ferry.html"
P2_AMP = "https://b.example/amp/b/ferry.html"
Q = "https://c.example/ferry-copy.html"

BRIDGE = [
    "The new footbridge over the river opened to walkers and cyclists on Saturday morning.",
    "Hundreds of residents crossed it in the first hour, many of them pushing prams and bikes.",
    "The council said the steel span had cost four million pounds and taken two years to build.",
    "Engineers lifted the central section into place in March using the largest crane in the "
    "region.",
    "Shop owners on both banks hope the crossing will bring more visitors to the old quarter.",
    "A ribbon was cut by the two oldest members of the rowing club that campaigned for it.",
    "Lighting along the deck will be switched on at dusk every evening from next week.",
]
FERRY = [
    "The island ferry will run every half hour this summer, the operator announced on Monday.",
    "A second boat, refitted over the winter, joins the route at the start of the school "
    "holidays.",
    "Fares stay the same for residents, while day visitors will pay one pound more each way.",
    "The harbour master said the new timetable had been agreed with the lifeboat crew.",
    "Bookings for cars open on Friday; foot passengers can still buy tickets on board.",
    "Islanders had asked for more crossings after long queues on the quay last August.",
]


def text(sentences: list[str]) -> str:
    return "\n".join(sentences)


def copy_credit(url: str, promo: str, **kw: object) -> ArticleRecord:
    """An aggregator copy crediting X: the last sentence trimmed, a promo line added."""
    return record(url, text([*BRIDGE[:-1], promo]), relation=UrlRelation.AGGREGATOR,
                  original_url=X, published_at=T0 + HOUR, publisher="Orig Daily", **kw)


# The credited original, its AMP version, two credited copies that tie (same date and length),
# and an uncredited copy published later.
CREDITED = [
    record(X, text(BRIDGE), published_at=T0, authors=["Ann Lee"]),
    record(X, text([*BRIDGE, "Read more stories on our website."]), published_at=T0,
           aliases=(X_AMP,), alias_kinds=((X_AMP, "amp"),), fetched_url=X_AMP, variant=True),
    copy_credit(C1, "Follow Aggregator One for more news from the region."),
    copy_credit(C2, "Follow Aggregator Two for more news from the region."),
    record(U, text([*BRIDGE[:-1], "Pictures of the opening are in our gallery, page two."]),
           published_at=T0 + 3 * HOUR, title="Bridge opens", authors=[], language="en"),
]
# The credited original is never fetched: its copies stand in for it, whatever came first.
STAND_INS = [r for r in CREDITED if r.url in {C1, C2, U}]
# No credit: two exact duplicates on one site (same date, same body: a tie), an AMP version
# of the second with a tracking alias, and a near-duplicate of the same date and length.
TIES = [
    record(P1, text(FERRY), published_at=T0),
    record(P2, text(FERRY), published_at=T0, title="Ferry timetable"),
    record(P2, text([*FERRY, "Subscribe to our newsletter."]), published_at=T0,
           aliases=(P2_AMP, f"{P2_AMP}?utm_source=rss"),
           alias_kinds=((P2_AMP, "amp"), (f"{P2_AMP}?utm_source=rss", "tracking")),
           fetched_url=P2_AMP, variant=True),
    record(Q, text([*FERRY[:-1], FERRY[-1].replace("August", "autumn")]), published_at=T0),
]
AGG = ("aggregator", None)
# Each case: its records, the main URL, the texts the main version may have, the URLs' rows.
CASES = {
    "credited-original": (CREDITED, X, {text(BRIDGE)}, {
        X: ("original", None), X_AMP: ("alias", "amp"), C1: AGG, C2: AGG, U: AGG}),
    "credited-original-never-fetched": (STAND_INS, X, {r.text for r in STAND_INS[:2]}, {
        C1: AGG, C2: AGG, U: AGG}),
    "ties-and-exact-duplicates": (TIES, P1, {text(FERRY)}, {
        P1: ("original", None), P2: AGG, P2_AMP: ("alias", "amp"),
        f"{P2_AMP}?utm_source=rss": ("alias", "tracking"), Q: AGG}),
}


def with_dedup_keys(rec: ArticleRecord, at: dt.datetime) -> ArticleRecord:
    """The record as the dedup stage hands it to the store: hash, signature, band keys."""
    sig = signature(normalize_body(rec.text).split(), 3, COEFFICIENTS)
    assert sig is not None
    return dataclasses.replace(rec, content_hash=content_hash(rec.text), minhash=to_bytes(sig),
                               bands=FINDER.band_keys(sig), fetched_at=at)


def stored_after(sessions, records: list[ArticleRecord]) -> list[tuple]:  # noqa: F811
    """Save the records in this order into an empty database; the stories, without ids or times.

    Each is written as the store stage writes it: its near-duplicate found in the database.
    """
    with sessions.begin() as session:
        for model in (StoryBand, StoryRevision, StoryUrl, Story):
            session.execute(delete(model))
    for number, rec in enumerate(records):
        with sessions.begin() as session:
            write_record(session, with_dedup_keys(rec, T0 + number * dt.timedelta(minutes=1)),
                         FINDER)
    return snapshot(sessions)


def snapshot(sessions) -> list[tuple]:  # noqa: F811
    """Every stored story's fields and URL rows, without ids or times, in URL order."""
    with sessions() as session:
        stories = session.scalars(select(Story).options(selectinload(Story.urls))
                                  .order_by(Story.url)).all()
        return [(s.url, s.title, s.text, s.authors, s.published_at, s.language,
                 s.language_probability, s.language_method, s.content_hash, s.minhash, s.site,
                 s.publisher, s.original_url, s.source,
                 sorted((u.url, u.relation.value, u.kind) for u in s.urls)) for s in stories]


@pytest.mark.parametrize("case", CASES)
def test_every_arrival_order_stores_the_same_story(sessions, case: str) -> None:  # noqa: F811
    records, main_url, main_texts, rows = CASES[case]
    first = stored_after(sessions, records)
    (story,) = first
    assert story[0] == main_url
    assert story[2] in main_texts
    assert story[-1] == sorted((url, *row) for url, row in rows.items())
    assert story[8] == content_hash(story[2])
    main_signature = signature(normalize_body(story[2]).split(), 3, COEFFICIENTS)
    assert main_signature is not None
    assert story[9] == to_bytes(main_signature)
    for order in itertools.islice(itertools.permutations(records), 1, None):
        assert stored_after(sessions, list(order)) == first, [r.url for r in order]


def test_an_original_outranked_before_any_credit_wins_when_fetched_again(sessions) -> None:  # noqa: F811
    """Not order-free in one crawl (its text was replaced); the next crawl refetches it."""
    original = record(X, text(BRIDGE), published_at=T0)
    longer = record(U, text([*BRIDGE, "Pictures of the opening are in our gallery."]),
                    published_at=T0)
    credit = copy_credit(C1, "Follow Aggregator One for more news from the region.")
    settled = stored_after(sessions, [credit, original, longer])
    assert settled[0][:3] == (X, "A title", text(BRIDGE))
    late = stored_after(sessions, [original, longer, credit])
    assert late[0][2] == credit.text
    with sessions() as session:
        known = set(known_urls_of(session))
    assert known.isdisjoint({X, U, C1})
    refetched = with_dedup_keys(original, T0 + 2 * HOUR)
    with sessions.begin() as session:
        assert write_record(session, refetched, FINDER)[0] is SaveOutcome.UPDATED
    with sessions() as session:
        assert set(known_urls_of(session)) == {X, U, C1}
    assert snapshot(sessions) == settled
