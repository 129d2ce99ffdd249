"""Full-text search: folding, the index kept in step by triggers, the same results everywhere."""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import delete, select

from storage.models import Story
from storage.search import FOLDS, SEPARATORS, fold, query_terms
from storage.session import make_engine, make_sessionmaker
from storage.web.queries import StoryQuery, story_page
from tests.api_server import store, story


def search_all(db_url: str, q: str, page_size: int = 7, **filters: object) -> list[int]:
    """Every matching story id, best first, read page by page through the cursor."""
    engine = make_engine(db_url)
    ids: list[int] = []
    cursor = None
    try:
        with make_sessionmaker(engine)() as session:
            while True:
                page, cursor = story_page(session, StoryQuery(q=q, limit=page_size,
                                                               cursor=cursor, **filters))
                ids += [int(row["id"]) for row in page]  # type: ignore[call-overload]
                if cursor is None:
                    return ids
    finally:
        engine.dispose()


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
    missed = [char for n, char in enumerate(letters, 1)
              if n not in search_all(database_url, f"q{fold(char)}q")]
    assert missed == []
    split = [sep for n, sep in enumerate(SEPARATORS)
             if search_all(database_url, f"yy{n}") != [10_000 + n]]
    assert split == []


def test_search_finds_cong_doan_without_diacritics_title_first(database_url: str) -> None:
    store(database_url, [
        story(1, "Lào Cai: Phát huy vai trò của công đoàn", "Liên đoàn Lao động tỉnh"),
        story(2, "Hội nghị tỉnh", "Tổ chức Công Đoàn cơ sở họp", language="vi"),
        story(3, "Council budget", "cong doan appears in an English text"),
        story(4, "Công an", "thanh niên tình nguyện"),
    ])
    assert search_all(database_url, "cong doan") == [1, 3, 2]
    assert search_all(database_url, "CÔNG ĐOÀN") == [1, 3, 2]
    assert search_all(database_url, "cong doan", language="vi") == [2]
    assert search_all(database_url, "cong") == [4, 1, 3, 2]
    assert search_all(database_url, "?!") == []


def test_triggers_keep_the_index_in_step_with_inserts_updates_and_deletes(
        database_url: str) -> None:
    store(database_url, [story(1, "Lũ lụt miền Trung", "mưa lớn"),
                         story(2, "Festival de jazz", "été")])
    assert search_all(database_url, "lu lut") == [1]
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            first = session.scalars(select(Story).where(Story.id == 1)).one()
            first.title = "Hạn hán kéo dài"
            session.execute(delete(Story).where(Story.id == 2))
    finally:
        engine.dispose()
    assert search_all(database_url, "lu lut") == []
    assert search_all(database_url, "han han") == [1]
    assert search_all(database_url, "mua lon") == [1]
    assert search_all(database_url, "ete") == []


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
    for q in queries:
        assert search_all(database_url, q, page_size=13) == reference_search(rows, q), q


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
