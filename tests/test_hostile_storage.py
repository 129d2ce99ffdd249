"""Storage parity: hostile records store alike on SQLite and PostgreSQL, or on neither."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipelines.dedup import story_url
from pipelines.extract import extract_article
from storage.migrate import upgrade_database
from storage.models import StoryUrl
from storage.read import story_for_url
from storage.records import (
    MAX_URL_BYTES,
    ArticleRecord,
    UnstorableRecord,
    clean_text,
    sane_date,
)
from storage.session import make_engine, make_sessionmaker
from storage.write import save_article

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
PARITY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])
numbers = itertools.count()

# Any character, lone surrogates and NUL included (hypothesis leaves surrogates out by default).
CHARS = st.one_of(st.characters(blacklist_categories=()), st.sampled_from("\x00\ud800\udfff\u2028"))
TEXT = st.text(CHARS, max_size=80)
OFFSETS = st.builds(dt.timezone, st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59),
                                               max_value=dt.timedelta(hours=23, minutes=59)))
DATES = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59),
                 timezones=OFFSETS),
    st.sampled_from([dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
                     dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))]),
)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@st.composite
def hostile_records(draw: st.DrawFn) -> ArticleRecord:
    """A record as a hostile page makes it: odd text, long names, validators, URLs and dates."""
    number = next(numbers)
    path = draw(st.text(st.sampled_from("ab%/é-\x00"), max_size=3000))
    url = f"https://news.example/{number}/{path}"
    return ArticleRecord(
        url=url, site="news.example", source=draw(st.text(CHARS, max_size=300)) or "s",
        title=draw(TEXT), text=draw(TEXT) + f" {number}", content_hash=f"{number:064x}",
        fetched_at=T0, authors=draw(st.lists(TEXT, max_size=3)),
        published_at=draw(DATES), language=draw(st.none() | st.text(CHARS, max_size=30)),
        publisher=draw(st.none() | st.text(CHARS, max_size=400)),
        original_url=draw(st.none() | st.just(f"https://orig.example/{number}/" + "o" * 2700)),
        http_etag=draw(st.none() | st.text(CHARS, max_size=400)),
        http_last_modified=draw(st.none() | st.text(CHARS, max_size=100)),
    )


@PARITY
@given(record=hostile_records())
@example(record=ArticleRecord(
    url="https://news.example/x/" + "a" * 3000, site="news.example", source="s", title="t",
    text="too long", content_hash="0" * 64, fetched_at=T0))
@example(record=ArticleRecord(
    url="https://news.example/y/" + "a" * 2100, site="news.example", source="s",
    title="a\x00b\ud800", text="year one", content_hash="1" * 64, fetched_at=T0,
    published_at=dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    publisher="p" * 300, http_etag='"' + "e" * 300 + '"', http_last_modified="m" * 65))
def test_hostile_records_store_alike_on_both_backends(
    sessions: sessionmaker[Session], record: ArticleRecord
) -> None:
    """Each backend stores the record's bounded values, or both refuse it (URL over the cap)."""
    if len(clean_text(record.url).encode("utf-8")) > MAX_URL_BYTES:
        with pytest.raises(UnstorableRecord), sessions.begin() as session:
            save_article(session, record)
        return
    with sessions.begin() as session:
        save_article(session, record)
    with sessions() as session:
        url = clean_text(record.url)
        story = story_for_url(session, url)
        assert story is not None
        row = session.scalars(select(StoryUrl).where(StoryUrl.url == url)).one()
        etag, last_modified = row.http_etag, row.http_last_modified
    assert story.url == url
    assert story.original_url is None
    assert story.title == clean_text(record.title)
    assert story.text == clean_text(record.text)
    assert story.authors == [clean_text(a) for a in record.authors]
    assert story.source == clean_text(record.source)[:255]
    assert story.publisher == (None if record.publisher is None
                               else clean_text(record.publisher)[:255])
    assert story.published_at == sane_date(record.published_at, url)
    expected_etag = clean_text(record.http_etag or "")
    assert etag == (expected_etag if 0 < len(expected_etag) <= 255 else None)
    expected_modified = clean_text(record.http_last_modified or "")
    assert last_modified == (expected_modified if 0 < len(expected_modified) <= 64 else None)


def test_out_of_range_dates_are_dropped_with_a_log_line(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """Year 1 east of UTC and year 9999 west of it overflow; both are dropped and logged."""
    caplog.set_level(logging.INFO, logger="storage.records")
    for value in (dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
                  dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))):
        assert sane_date(value, "https://news.example/a") is None
    assert caplog.text.count("out of range") == 2
    kept = dt.datetime(2024, 9, 2, 10, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert sane_date(kept, "https://news.example/a") == kept


def test_a_canonical_url_with_port_99999_keeps_the_article() -> None:
    """An unparsable rel=canonical is ignored: the article keeps its fetched URL as key."""
    body = " ".join(["The council approved the river barrier plan on Monday evening."] * 20)
    html = ('<html><head><title>River barrier</title>'
            '<link rel="canonical" href="https://news.example:99999/river"></head>'
            f"<body><article><h1>River barrier</h1><p>{body}</p></article></body></html>")
    article = extract_article(html, "https://news.example/river")
    assert article is not None
    assert article.canonical_url is None
    assert story_url("https://news.example/river", article.canonical_url) == (
        "https://news.example/river")
