"""Operations storage: concurrent upgrades and writers, run records, health; both databases."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import CrawlRun, Story, StoryUrl
from storage.read import iter_stories
from storage.runs import fill_rates, health_problems, last_runs, record_run
from storage.session import make_engine, make_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2024, 8, 14, 1, 30, tzinfo=dt.UTC)
FULL = {"title": 1.0, "body": 1.0, "authors": 0.8, "published_at": 1.0, "language": 1.0}

WRITER = textwrap.dedent("""
    import datetime as dt, sys, time
    from pipelines.store import SAVE_ATTEMPTS
    from sqlalchemy.exc import IntegrityError, OperationalError
    from storage.migrate import upgrade_database
    from storage.records import ArticleRecord
    from storage.session import make_engine, make_sessionmaker
    from storage.write import save_article

    url, writer = sys.argv[1], sys.argv[2]
    engine = make_engine(url)
    upgrade_database(engine)
    sessions = make_sessionmaker(engine)
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for n in range(40):
        # Same body under a different URL per writer, and the same URL for both writers.
        urls = [f"https://{writer}.example/{n}", f"https://shared.example/{n}"]
        for url in urls:
            record = ArticleRecord(url=url, site=url.split("/")[2], source=writer, title="t",
                                   text=f"body {n}", content_hash=f"h{n}", fetched_at=t0)
            for attempt in range(1, SAVE_ATTEMPTS + 1):
                try:
                    with sessions.begin() as session:
                        save_article(session, record)
                    break
                except (IntegrityError, OperationalError):
                    if attempt == SAVE_ATTEMPTS:
                        raise
                    time.sleep(0.05 * attempt)
    print("done")
""")


def _in_parallel(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Start processes at once; wait for all of them."""
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in commands]
    results = []
    for cmd, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return results


def test_two_processes_upgrade_one_database_at_once(database_url: str) -> None:
    code = ("import sys; from storage.migrate import upgrade_database; "
            "from storage.session import make_engine; upgrade_database(make_engine(sys.argv[1]))")
    results = _in_parallel(*[[sys.executable, "-c", code, database_url]] * 3)
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    engine = make_engine(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_two_writers_never_duplicate_nor_lose_a_story(database_url: str) -> None:
    upgrade_database(make_engine(database_url))
    results = _in_parallel(*[[sys.executable, "-c", WRITER, database_url, w] for w in "ab"])
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == 40
        assert session.scalar(select(func.count(func.distinct(Story.content_hash)))) == 40
        assert session.scalar(select(func.count()).select_from(StoryUrl)) == 120
        for story in iter_stories(session):
            n = story.url.rsplit("/", 1)[1]
            assert set(story.seen_urls) == {f"https://a.example/{n}", f"https://b.example/{n}",
                                            f"https://shared.example/{n}"}
    engine.dispose()


def run(source: str, day: int, new: int, rates: dict[str, float] | None = None) -> CrawlRun:
    start = T0 + dt.timedelta(days=day)
    return CrawlRun(source=source, hostname="test", started_at=start,
                    finished_at=start + dt.timedelta(minutes=5), finish_reason="finished",
                    pages_fetched=3 * new, stories_new=new, stories_updated=0,
                    stories_duplicate=0, not_articles=2, errors={"HttpError": 1},
                    fill_rates=dict(FULL if rates is None else rates))


def test_fill_rates() -> None:
    assert fill_rates({"title": 4, "body": 4, "authors": 1}, 4, 6001) == {
        "title": 1.0, "body": 1.0, "authors": 0.25, "published_at": 0.0, "language": 0.0,
        "body_chars": 1500}
    assert fill_rates({}, 0) == {}


def test_health_compares_with_the_median_of_previous_runs() -> None:
    history = [run("s", d, n) for d, n in enumerate((20, 22, 200))]
    assert health_problems(run("s", 9, 19), history, 0.5, 3) == []
    assert health_problems(run("s", 9, 5), history, 0.5, 3) == [
        "5 articles stored against a median of 22"]
    broken = run("s", 9, 21, {**FULL, "authors": 0.1, "published_at": 0.0})
    assert health_problems(broken, history, 0.5, 3) == [
        "authors filled in 10% against a median of 80%",
        "published_at filled in 0% against a median of 100%"]
    assert health_problems(run("s", 9, 1), history[:2], 0.5, 3) == []
    long = [run("s", d, 20, {**FULL, "body_chars": n}) for d, n in enumerate((2400, 2000, 90))]
    assert health_problems(run("s", 9, 20, {**FULL, "body_chars": 1100}), long, 0.5, 3) == []
    assert health_problems(run("s", 9, 20, {**FULL, "body_chars": 900}), long, 0.5, 3) == [
        "body length 900 characters against a median of 2000"]


def test_an_error_burst_needs_enough_failures() -> None:
    """3 failures in 4 requests (one process's share of a shared frontier) are no burst at
    the shipped floor of 5 failures; with a floor of 1 they are, and 5 of 6 are at 5."""
    few = run("s", 9, 0)
    few.pages_fetched, few.errors = 4, {"HttpError": 3}
    assert health_problems(few, [], 0.5, 3, max_error_rate=0.5, min_errors=5) == []
    assert health_problems(few, [], 0.5, 3, max_error_rate=0.5, min_errors=1) == [
        "error burst: 3 of 4 requests failed"]
    many = run("s", 9, 0)
    many.pages_fetched, many.errors = 6, {"HttpError": 5}
    assert health_problems(many, [], 0.5, 3, max_error_rate=0.5, min_errors=5) == [
        "error burst: 5 of 6 requests failed"]


def test_run_records_and_degraded_runs(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    sessions = make_sessionmaker(engine)
    policy = {"window": 3, "drop_ratio": 0.5, "min_runs": 2}
    with sessions.begin() as session:
        for day, new in enumerate((30, 28, 31)):
            assert not record_run(session, run("gazette", day, new), **policy).degraded
        record_run(session, run("other", 0, 1), **policy)
    with sessions.begin() as session:
        bad = record_run(session, run("gazette", 5, 3), **policy)
    assert bad.degraded
    assert bad.health_note == "3 articles stored against a median of 30"
    with sessions.begin() as session:
        still_bad = record_run(session, run("gazette", 6, 4), **policy)
    assert still_bad.degraded, "a degraded run must not become the new baseline"
    with sessions() as session:
        runs = last_runs(session, source="gazette", limit=2)
        assert [r.stories_new for r in runs] == [4, 3]
        assert runs[0].errors == {"HttpError": 1}
        assert runs[0].fill_rates == FULL
        assert runs[0].started_at == T0 + dt.timedelta(days=6)
        assert len(last_runs(session)) == 6
    engine.dispose()
