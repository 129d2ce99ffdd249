"""Storage: migrations, merging articles into stories, the read API."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError

from storage.migrate import current_revision, head_revision, migrated_engine, upgrade_database
from storage.models import Story, StoryUrl, UrlRelation
from storage.read import count_stories, iter_stories, known_urls_at, story_for_url
from storage.records import ArticleRecord
from storage.session import make_engine, make_sessionmaker, redact_url, shared_engine
from storage.write import SaveOutcome, save_article

ROOT = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2024, 8, 14, 1, 30, tzinfo=dt.UTC)
ORIGINAL = "https://orig.example/lao-cai.html"
COPY = "https://agg.example/lao-cai-post1.html"


@pytest.fixture
def sessions(database_url: str):
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def record(url: str, text_: str = "Body text of the story.", **kw: object) -> ArticleRecord:
    fields: dict[str, object] = {
        "url": url, "site": url.split("/")[2], "source": "test", "title": "A title",
        "text": text_, "content_hash": f"hash:{text_}", "fetched_at": T0,
        "language": "vi", "authors": ["Tuệ Phương"],
    }
    fields.update(kw)
    return ArticleRecord(**fields)  # type: ignore[arg-type]


def known_urls_of(session) -> dict[str, list]:
    """Every stored URL the incremental crawl would find: url -> [last_seen, ETag, Last-Mod.]."""
    keys = sorted(set(session.scalars(select(StoryUrl.canonical_url))))
    return {url: rest for _key, url, *rest in known_urls_at(session, keys)}


def save(sessions, rec: ArticleRecord) -> SaveOutcome:
    with sessions.begin() as session:
        outcome, _ = save_article(session, rec)
    return outcome


def test_empty_database_is_migrated_to_head(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    names = set(inspect(engine).get_table_names())
    assert {"stories", "story_urls", "alembic_version"} <= names
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    upgrade_database(engine)
    engine.dispose()


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    alembic = [sys.executable, "-m", "alembic"]
    subprocess.run([*alembic, "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    result = subprocess.run([*alembic, "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_aggregator_copy_then_original_is_one_story(sessions) -> None:
    copy = record(COPY, "Copy text plus chrome.", relation=UrlRelation.AGGREGATOR,
                  original_url=ORIGINAL, publisher="Báo Đại đoàn kết")
    assert save(sessions, copy) is SaveOutcome.NEW
    original = record(ORIGINAL, "Clean original text.", fetched_at=T0 + dt.timedelta(minutes=1),
                      publisher="Đại Đoàn Kết")
    assert save(sessions, original) is SaveOutcome.UPDATED
    with sessions() as session:
        (story,) = list(iter_stories(session))
    assert story.url == ORIGINAL
    assert story.original_url == ORIGINAL
    assert story.text == "Clean original text."
    assert story.publisher == "Đại Đoàn Kết"  # the main version's, as every field
    assert story.seen_urls == [COPY, ORIGINAL]


def test_original_first_then_copy_keeps_the_original_text(sessions) -> None:
    assert save(sessions, record(ORIGINAL, "Clean original text.")) is SaveOutcome.NEW
    copy = record(COPY, "Copy text.", relation=UrlRelation.AGGREGATOR, original_url=ORIGINAL,
                  fetched_at=T0 + dt.timedelta(minutes=1))
    assert save(sessions, copy) is SaveOutcome.DUPLICATE
    with sessions() as session:
        (story,) = list(iter_stories(session))
        relations = {u.url: u.relation for u in session.get(Story, story.id).urls}
    assert story.text == "Clean original text."
    assert relations == {ORIGINAL: UrlRelation.ORIGINAL, COPY: UrlRelation.AGGREGATOR}


def test_same_body_elsewhere_and_aliases_merge(sessions) -> None:
    save(sessions, record("https://a.example/x", aliases=("https://a.example/x?utm_source=rss",)))
    assert save(sessions, record("https://b.example/y")) is SaveOutcome.DUPLICATE
    assert save(sessions, record("https://a.example/x")) is SaveOutcome.DUPLICATE
    with sessions() as session:
        assert count_stories(session) == 1
        story = story_for_url(session, "https://a.example/x?utm_source=rss")
    assert story is not None
    assert story.seen_urls == ["https://a.example/x", "https://a.example/x?utm_source=rss",
                               "https://b.example/y"]


def test_read_filters_and_timezones(sessions) -> None:
    later = T0 + dt.timedelta(days=2)
    published = dt.datetime(2024, 8, 14, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    save(sessions, record("https://a.example/1", "one", published_at=published))
    save(sessions, record("https://a.example/2", "two", language="en", fetched_at=later))
    with sessions() as session:
        assert [s.url for s in iter_stories(session, language="en")] == ["https://a.example/2"]
        assert [s.url for s in iter_stories(session, since=later)] == ["https://a.example/2"]
        assert [s.url for s in iter_stories(session, source="other")] == []
        first = next(iter_stories(session))
    assert first.published_at == published
    assert first.published_at.tzinfo is not None
    assert first.to_json()["published_at"] == "2024-08-14T01:30:00+00:00"


def test_naive_datetimes_are_refused(sessions) -> None:
    naive = record("https://a.example/n", fetched_at=dt.datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        save(sessions, naive)


def test_failed_transaction_leaves_nothing(sessions) -> None:
    def killed_half_way() -> None:
        with sessions.begin() as session:
            save_article(session, record("https://a.example/half"))
            raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        killed_half_way()
    with sessions() as session:
        assert count_stories(session) == 0


def test_redact_url_hides_the_password() -> None:
    assert redact_url("postgresql+psycopg://u:s3cret@db/x") == "postgresql+psycopg://u:***@db/x"


def test_one_engine_per_process_and_one_schema_check(tmp_path: Path, caplog) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    caplog.set_level("INFO")
    engine = migrated_engine(url)
    assert engine is shared_engine(url) is migrated_engine(url)
    assert current_revision(engine) == head_revision()
    checks = [r for r in caplog.records if r.name.startswith("alembic")]
    caplog.clear()
    migrated_engine(url)
    assert checks
    assert not [r for r in caplog.records if r.name.startswith("alembic")]
