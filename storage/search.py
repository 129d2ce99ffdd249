"""Full-text search over stored stories, accent-insensitive, the same on SQLite and PostgreSQL.

Text is folded at index time (by the database, through triggers that migration 0004 creates)
and at query time (here, in Python) by one rule: lowercase, then every Latin letter with
diacritics becomes its ASCII base letter ("Công Đoàn" -> "cong doan"; "đ", which has no
Unicode decomposition, becomes "d"), and punctuation separates words. Other letters (ø, æ,
Cyrillic, Greek) are only lowercased. SQLite indexes into an FTS5 table (`story_search`), its
unicode61 tokenizer removing diacritics; PostgreSQL into a `story_search` table of tsvectors
made by the SQL function `newsagg_fold` with the 'simple' configuration (no stemming, no
stop words) and GIN indexes. A query matches the stories that hold every one of its words;
those whose title holds them all come first, then the others, each tier newest stored first
(docs/api.md).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, column, func, literal_column, table

from storage.models import Story

# Latin-1 Supplement to Latin Extended-B, and Latin Extended Additional (Vietnamese).
LATIN_RANGES = ((0x00C0, 0x024F), (0x1E00, 0x1EFF))
# Letters without a Unicode decomposition that still fold to an ASCII letter.
EXTRA_FOLDS = {"đ": "d", "Đ": "d"}
# Letters SQLite's unicode61 tokenizer does not fold itself: its triggers replace them first.
SQLITE_REPLACEMENTS = {"đ": "d", "Đ": "d", "ǡ": "a", "Ǡ": "a"}
# Punctuation, symbols, spaces and controls that separate words: ASCII, Latin-1 and
# General Punctuation (unicode61 separates at them; PostgreSQL's parser needs telling).
SEPARATORS = "".join(
    char for char in map(chr, [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x2000, 0x2070)])
    if unicodedata.category(char)[0] in "PSZ" or unicodedata.category(char) == "Cc"
)
MAX_QUERY_TERMS = 16
WORD = re.compile(r"[^\W_]+")


def _base_letter(char: str) -> str | None:
    """The lowercase ASCII letter a Latin letter with diacritics is made of, else None."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if marks and base.isascii() and base.isalpha() and all(map(unicodedata.combining, marks)):
        return base.lower()
    return None


def _fold_table() -> dict[str, str]:
    """Each lowercase Latin letter with diacritics and the ASCII letter it folds to."""
    folds = {}
    for low, high in LATIN_RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            base = _base_letter(char)
            if base is not None and char == char.lower():
                folds[char] = base
    folds.update({k: v for k, v in EXTRA_FOLDS.items() if k == k.lower()})
    return dict(sorted(folds.items()))


FOLDS = _fold_table()
FOLD_TRANSLATION = str.maketrans({**FOLDS, **dict.fromkeys(SEPARATORS, " ")})


def fold(text: str) -> str:
    """Text as the search index holds it: lowercase, no diacritics on Latin letters."""
    return unicodedata.normalize("NFC", text).lower().translate(FOLD_TRANSLATION)


def query_terms(query: str) -> list[str]:
    """The distinct folded words of a search query, in order, at most MAX_QUERY_TERMS."""
    terms: list[str] = []
    for word in WORD.findall(fold(query)):
        if word not in terms:
            terms.append(word)
    return terms[:MAX_QUERY_TERMS]


def fts5_query(terms: list[str], column_name: str | None = None) -> str:
    """An FTS5 MATCH expression: every term as a quoted phrase, optionally in one column."""
    phrases = " AND ".join(f'"{term}"' for term in terms)
    return f"{{{column_name}}} : ({phrases})" if column_name else phrases


SQLITE_INDEX = table("story_search", column("rowid", Integer))
POSTGRES_INDEX = table("story_search", column("story_id", Integer), column("document"),
                       column("title"))


def search_tiers(query: Select[Any], dialect: str,
                 terms: list[str]) -> list[tuple[Select[Any], ColumnElement[int]]]:
    """A select of stories narrowed to each tier of a search, with the id that orders it.

    First tier: the title holds every term; second: the story does, not all in its title. Each
    joins the index, so that a page reads matches newest first and stops at its LIMIT (SQLite
    walks the FTS5 rowids backwards) instead of filtering every story.
    """
    if dialect == "postgresql":
        tsquery = func.plainto_tsquery(literal_column("'simple'"), " ".join(terms))
        in_title = POSTGRES_INDEX.c.title.op("@@")(tsquery)
        joined = query.join(POSTGRES_INDEX, POSTGRES_INDEX.c.story_id == Story.id)
        return [(joined.where(in_title), Story.id.expression),
                (joined.where(POSTGRES_INDEX.c.document.op("@@")(tsquery), ~in_title),
                 Story.id.expression)]
    match = literal_column("story_search").op("MATCH")
    title_only = fts5_query(terms, "title")
    joined = query.join(SQLITE_INDEX, SQLITE_INDEX.c.rowid == Story.id)
    return [(joined.where(match(title_only)), SQLITE_INDEX.c.rowid),
            (joined.where(match(f"({fts5_query(terms)}) NOT ({title_only})")),
             SQLITE_INDEX.c.rowid)]
