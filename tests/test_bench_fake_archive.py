"""bench/fake_archive.py: its fast path writes the very rows the store writes for the same
stories, search index included, so that benchmarks on its archives measure real archives."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from bench.fake_archive import FINDER, build_fast, fake_records
from pipelines.store import write_record
from storage.migrate import migrated_engine
from storage.models import Story, StoryBand, StoryUrl
from storage.session import make_sessionmaker
from tests.servers import new_postgres_database

STORIES = 200


def other_database(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second empty database of the same backend as DATABASE_URL."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'store.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_url"))


def dump(db_url: str) -> list[tuple[object, ...]]:
    """Every row of the tables a new story fills, in key order, and the search index's rows."""
    engine = migrated_engine(db_url)
    search = ("SELECT story_id, title::text, document::text FROM story_search ORDER BY story_id"
              if engine.dialect.name == "postgresql"
              else "SELECT rowid FROM story_search ORDER BY rowid")
    with engine.connect() as conn:
        rows = [tuple(row) for table in (Story.__table__, StoryUrl.__table__,
                                         StoryBand.__table__)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
        return rows + [tuple(row) for row in conn.execute(text(search))]


def test_fast_path_writes_the_stores_rows(database_url: str, request: pytest.FixtureRequest,
                                          tmp_path: Path) -> None:
    """The same fake stories through build_fast and through write_record: identical rows."""
    store_url = other_database(database_url, request, tmp_path)
    assert build_fast(database_url, STORIES) == STORIES
    with make_sessionmaker(migrated_engine(store_url)).begin() as session:
        for record in fake_records(STORIES):
            write_record(session, record, FINDER)
    fast, store = dump(database_url), dump(store_url)
    assert len(fast) > STORIES * 16
    assert fast == store


def test_a_finished_build_writes_nothing_more(tmp_path: Path) -> None:
    """A build resumes after the stories the archive holds: nothing to add once complete."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    assert build_fast(url, STORIES) == STORIES
    before = dump(url)
    assert build_fast(url, STORIES) == STORIES
    assert dump(url) == before


def test_chunks_drawn_apart_are_the_stories_drawn_in_one_run() -> None:
    """Each chunk of stories has its own seed: a resumed build draws the same stories."""
    whole = [record.url + record.text for record in fake_records(4_100)]
    resumed = [record.url + record.text for record in fake_records(4_100, start=2_000)]
    assert whole[2_000:] == resumed


def test_a_copied_build_writes_the_drawn_rows(database_url: str, request: pytest.FixtureRequest,
                                              tmp_path: Path) -> None:
    """Stories copied from another archive of the same build (--source): the rows drawing
    them writes, search index included."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    drawn = other_database(database_url, request, tmp_path)
    assert build_fast(source, STORIES) == STORIES
    assert build_fast(drawn, STORIES) == STORIES
    assert build_fast(database_url, STORIES, source=source) == STORIES
    assert dump(database_url) == dump(drawn)
