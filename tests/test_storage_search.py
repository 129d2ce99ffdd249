"""Full-text search: folding, the index kept in step by triggers, the same results everywhere."""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import Story
from storage.search import FOLDS, SEPARATORS, fold, query_terms
from storage.session import make_engine, make_sessionmaker
from storage.web.queries import StoryQuery, story_page
from tests.api_server import store, story


@contextlib.contextmanager
def reading(db_url: str) -> Iterator[Session]:
    """A session on the database, its engine disposed afterwards."""
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def search_all(session: Session, q: str, page_size: int = 7, **filters: object) -> list[int]:
    """Every matching story id, best first, read page by page through the cursor."""
    ids: list[int] = []
    cursor = None
    while True:
        page, cursor = story_page(session, StoryQuery(q=q, limit=page_size, cursor=cursor,
                                                       **filters))
        ids += [int(str(row["id"])) for row in page]
        if cursor is None:
            return ids


def test_fold_removes_vietnamese_diacritics_and_d_stroke() -> None:
    assert fold("Lào Cai: Công Đoàn") == "lao cai  cong doan"
    assert query_terms("CÔNG đoàn, công-đoàn!") == ["cong", "doan"]
    assert query_terms("L'été à Paris — «naïve» façade") == ["l", "ete", "a", "paris", "naive",
                                                          "facade"]


def test_fold_keeps_letters_that_are_no_latin_letter_with_marks() -> None:
    assert query_terms("Søren Æble Москва Ελλάδα") == ["søren", "æble", "москва", "ελλάδα"]
    assert query_terms("  ...  ") == []


def test_every_folded_letter_and_separator_is_found_by_its_folded_form(database_url: str) -> None:
    letters = sorted(set(FOLDS) | {c.upper() for c in FOLDS if len(c.upper()) == 1})
    store(database_url, [story(n, f"q{char}q", "body", url=f"http://127.0.0.9/{n}")
                         for n, char in enumerate(letters, 1)]
          + [story(10_000 + n, f"zz{sep}yy{n}", "body", url=f"http://127.0.0.9/s{n}")
             for n, sep in enumerate(SEPARATORS)])
    with reading(database_url) as session:
        missed = [char for n, char in enumerate(letters, 1)
                  if n not in search_all(session, f"q{fold(char)}q")]
        split = [sep for n, sep in enumerate(SEPARATORS)
                 if search_all(session, f"yy{n}") != [10_000 + n]]
    assert missed == []
    assert split == []


def test_search_finds_cong_doan_without_diacritics_title_first(database_url: str) -> None:
    store(database_url, [
        story(1, "Lào Cai: Phát huy vai trò của công đoàn", "Liên đoàn Lao động tỉnh"),
        story(2, "Hội nghị tỉnh", "Tổ chức Công Đoàn cơ sở họp", language="vi"),
        story(3, "Council budget", "cong doan appears in an English text"),
        story(4, "Công an", "thanh niên tình nguyện"),
    ])
    with reading(database_url) as session:
        assert search_all(session, "cong doan") == [1, 3, 2]
        assert search_all(session, "CÔNG ĐOÀN") == [1, 3, 2]
        assert search_all(session, "cong doan", language="vi") == [2]
        assert search_all(session, "cong") == [4, 1, 3, 2]
        assert search_all(session, "?!") == []


def test_triggers_keep_the_index_in_step_with_inserts_updates_and_deletes(
        database_url: str) -> None:
    store(database_url, [story(1, "Lũ lụt miền Trung", "mưa lớn"),
                         story(2, "Festival de jazz", "été")])
    with reading(database_url) as session:
        assert search_all(session, "lu lut") == [1]
        first = session.scalars(select(Story).where(Story.id == 1)).one()
        first.title = "Hạn hán kéo dài"
        session.execute(delete(Story).where(Story.id == 2))
        session.commit()
        assert search_all(session, "lu lut") == []
        assert search_all(session, "han han") == [1]
        assert search_all(session, "mua lon") == [1]
        assert search_all(session, "ete") == []


WORDS = ("công đoàn Lào Cai tỉnh hội nghị phát triển kinh tế đường sắt mưa lũ "
         "été marché piétonne naïve façade council budget river flood library").split()


def reference_search(rows: list[tuple[int, str, str]], q: str) -> list[int]:
    """What a search must return, computed in Python from the folding rule alone."""
    terms = query_terms(q)

    def words(text: str) -> set[str]:
        return set(re.findall(r"[^\W_]+", fold(text)))
    found = [(0 if set(terms) <= words(title) else 1, -number) for number, title, text in rows
             if set(terms) <= words(title) | words(text)]
    return [-negative for _rank, negative in sorted(found)] if terms else []


def test_search_results_equal_the_python_reference_on_both_databases(database_url: str) -> None:
    rng = random.Random(18)
    rows = [(n, " ".join(rng.choices(WORDS, k=5)).capitalize(),
             ". ".join(" ".join(rng.choices(WORDS, k=9)) for _ in range(4)))
            for n in range(1, 301)]
    store(database_url, [story(n, title, text) for n, title, text in rows])
    queries = ["cong doan", "Lao Cai", "kinh te", "ete marche", "naive facade", "flood",
               "duong sat mua", "hoi nghi phat trien", "council lu", "nothing-here"]
    with reading(database_url) as session:
        for q in queries:
            assert search_all(session, q, page_size=13) == reference_search(rows, q), q


def test_keyset_pages_neither_repeat_nor_skip_while_stories_are_added(database_url: str) -> None:
    store(database_url, [story(n, f"Story {n}", "flood warning") for n in range(1, 31)])
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            first, cursor = story_page(session, StoryQuery(limit=10))
            searched, search_cursor = story_page(session, StoryQuery(q="flood", limit=10))
        store(database_url, [story(n, f"Story {n}", "flood warning") for n in range(31, 41)])
        with make_sessionmaker(engine)() as session:
            second, _ = story_page(session, StoryQuery(limit=10, cursor=cursor))
            more, _ = story_page(session, StoryQuery(q="flood", limit=10, cursor=search_cursor))
    finally:
        engine.dispose()
    assert [row["id"] for row in first + second] == list(range(30, 10, -1))
    assert [row["id"] for row in searched + more] == list(range(30, 10, -1))


@pytest.mark.parametrize("q", ["cong doan", "ete"])
def test_query_terms_are_safe_fts_and_tsquery_words(q: str) -> None:
    assert all(re.fullmatch(r"[^\W_]+", term) for term in query_terms(q + ' "* OR NEAR( :'))
