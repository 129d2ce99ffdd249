"""Boilerplate markers loaded once from config/boilerplate.yaml."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from config import CONFIG_DIR

BOILERPLATE_PATH = CONFIG_DIR / "boilerplate.yaml"
LABEL_TRIM = re.compile(r"^[\s\W_]+|[\s\W_]+$")
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Markers:
    """Marker words and phrases that flag page chrome, in lower case."""

    block_headings: frozenset[str]
    credit_prefixes: tuple[str, ...]
    credit_exclusions: tuple[str, ...]
    publisher_prefixes: tuple[str, ...]
    stray_tokens: frozenset[str]
    image_words: tuple[str, ...]
    picture_credit_labels: tuple[str, ...]
    advert_labels: tuple[str, ...]
    taxonomy_prefixes: tuple[str, ...]
    byline_prefixes: tuple[str, ...]
    trailer_phrases: tuple[str, ...]
    read_also_prefixes: tuple[str, ...]
    box_phrases: tuple[str, ...]
    box_names: tuple[str, ...]
    non_article_words: frozenset[str]
    non_article_fillers: frozenset[str]


def normalize_label(text: str) -> str:
    """Lower-case TEXT, collapse whitespace and trim surrounding punctuation."""
    return LABEL_TRIM.sub("", SPACES.sub(" ", text)).lower()


def _strings(data: dict[str, object], key: str) -> list[str]:
    """Return the list of strings under KEY, lower-cased and normalised."""
    values = data.get(key) or []
    if not isinstance(values, list):
        return []
    return [SPACES.sub(" ", str(value)).strip().lower() for value in values if str(value).strip()]


@functools.cache
def load_markers(path: Path = BOILERPLATE_PATH) -> Markers:
    """Read the boilerplate markers from PATH (cached: read once per process)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    longest_first = functools.partial(sorted, key=len, reverse=True)
    return Markers(
        block_headings=frozenset(normalize_label(s) for s in _strings(data, "block_headings")),
        credit_prefixes=tuple(longest_first(_strings(data, "credit_prefixes"))),
        credit_exclusions=tuple(_strings(data, "credit_exclusions")),
        publisher_prefixes=tuple(longest_first(_strings(data, "publisher_prefixes"))),
        stray_tokens=frozenset(_strings(data, "stray_tokens")),
        image_words=tuple(_strings(data, "image_words")),
        picture_credit_labels=tuple(longest_first(_strings(data, "picture_credit_labels"))),
        advert_labels=tuple(longest_first(_strings(data, "advert_labels"))),
        taxonomy_prefixes=tuple(longest_first(_strings(data, "taxonomy_prefixes"))),
        byline_prefixes=tuple(longest_first(_strings(data, "byline_prefixes"))),
        trailer_phrases=tuple(_strings(data, "trailer_phrases")),
        read_also_prefixes=tuple(longest_first(_strings(data, "read_also_prefixes"))),
        box_phrases=tuple(_strings(data, "box_phrases")),
        box_names=tuple(_strings(data, "box_names")),
        non_article_words=frozenset(_strings(data, "non_article_words")),
        non_article_fillers=frozenset(_strings(data, "non_article_fillers")),
    )
