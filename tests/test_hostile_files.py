"""Files: a damaged SQLite write-ahead log is reported; an unreadable row does not stop export.

Each test runs `scrapy export` in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

from storage.migrate import upgrade_database
from storage.records import ArticleRecord
from storage.session import make_engine, make_sessionmaker
from storage.write import save_article
from tests.crawling import scrapy

T0 = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def stored_database(path: Path, stories: int) -> None:
    """A SQLite database holding STORIES stories."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    with make_sessionmaker(engine).begin() as session:
        for n in range(stories):
            save_article(session, ArticleRecord(
                url=f"https://news.example/story-{n}", site="news.example", source="s",
                title=f"Story {n}", text=f"Body of story {n}.", content_hash=f"{n:064x}",
                fetched_at=T0, published_at=T0))
    engine.dispose()


def crashed_copy(source: Path, target: Path, stories: int) -> None:
    """TARGET: SOURCE with STORIES more stories committed in its WAL only, as a crash leaves
    it (files copied while the writer still holds them, before any checkpoint)."""
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    for n in range(stories):
        conn.execute("INSERT INTO stories (url, title, text, authors, site, source, "
                     "content_hash, created_at, updated_at) VALUES (?, ?, 'Body.', '[]', "
                     "'news.example', 's', ?, ?, ?)",
                     (f"https://news.example/wal-{n}", f"WAL story {n}", f"w{n}",
                      T0.isoformat(), T0.isoformat()))
        conn.commit()
    shutil.copy(source, target)
    shutil.copy(source.with_name(source.name + "-wal"), target.with_name(target.name + "-wal"))
    conn.close()


def test_a_damaged_wal_stops_the_command_with_one_line(tmp_path: Path) -> None:
    source, sound, damaged = tmp_path / "a.db", tmp_path / "sound.db", tmp_path / "damaged.db"
    stored_database(source, 1)
    crashed_copy(source, sound, 3)
    shutil.copy(sound, damaged)
    wal = bytearray((tmp_path / "sound.db-wal").read_bytes())
    wal[32 + 24 + 200] ^= 0xFF  # inside the first frame's page; later frames stay whole
    (tmp_path / "damaged.db-wal").write_bytes(bytes(wal))
    ok = scrapy("export", "-o", "-", "-s", f"DATABASE_URL=sqlite:///{sound}")
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.splitlines()) == 4
    bad = scrapy("export", "-o", "-", "-s", f"DATABASE_URL=sqlite:///{damaged}")
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    errors = [line for line in bad.stderr.splitlines() if "damaged.db-wal" in line]
    assert len(errors) == 1, bad.stderr
    assert "frame 1 is damaged" in errors[0]
    assert bad.stdout == ""


def test_an_unreadable_row_is_skipped_logged_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    stored_database(path, 3)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stories SET published_at = 'not a date' WHERE title = 'Story 1'")
    result = scrapy("export", "-o", "-", "-s", f"DATABASE_URL=sqlite:///{path}")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [line.count("Story ") for line in result.stdout.splitlines()] == [1, 1]
    assert "Story 1" not in result.stdout
    assert "skipped 1 unreadable stories" in result.stderr
