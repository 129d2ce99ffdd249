"""Cleaning of extracted body lines: template leftovers, teasers, marker blocks, trailers."""

from __future__ import annotations

import functools
import re
from collections.abc import Container

from pipelines.markers import Markers, normalize_label
from pipelines.tokens import token_string

MAX_LABEL_CHARS = 60
WORD = re.compile(r"\w+")
IMAGE_LABEL = re.compile(r"\s(\w+)\s*\d+\s*$")
TRAILING_SHORT_WORDS = 8
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.\w[\w.]*")
TRAILER_MAX_WORDS = 60
LIST_SEPARATORS = re.compile(r"\s*[,|·•]\s*")
LIST_MIN_ITEMS = 4
LIST_ITEM_MAX_WORDS = 5
READ_ALSO_MAX_WORDS = 30
TEASER_MAX_WORDS = 25
CREDIT_MAX_WORDS = 40
COPYRIGHT_SIGN = "©"
CREDIT_OPENERS = r"(?:^|[(\[|/•·–—-]\s*|[.!?]\s*)"
LABEL_LINE_MAX_WORDS = 12
ADVERT_SEPARATORS = (".", ":", "-", "–", "—", "|", "*", "]", ")")
SPACED_COLON = re.compile(r"\s+:")
DATE_LINE = re.compile(  # "23.10.2018", "06.11.2023, 13.47 Uhr", "2022-05-04"
    r"\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d\d(?:\s*,?\s*\d{1,2}[:.]\d\d(?:\s*(?:uhr|h))?)?"
    r"|(?:19|20)\d\d-\d\d-\d\d",
    re.IGNORECASE,
)


def has_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    """Tell whether the lower-cased, whitespace-normalised TEXT holds one of PHRASES."""
    lowered = " ".join(text.lower().split())
    return any(phrase in lowered for phrase in phrases)


def read_also_rest(text: str, prefixes: tuple[str, ...]) -> str | None:
    """What follows a "read also" prefix that opens TEXT (with a separator), else None."""
    lowered = " ".join(text.lower().split())
    for prefix in prefixes:
        if lowered == prefix:
            return ""
        if lowered.startswith(prefix) and not lowered[len(prefix)].isalnum():
            rest = lowered[len(prefix) :].lstrip()
            if lowered[len(prefix)] != " " or rest[:1] in (":", "»", "›", ">", "→", "|", "-", "–"):
                return rest.lstrip(":»›>→|-– ")
    return None


def is_image_label(line: str, title: str, image_words: tuple[str, ...]) -> bool:
    """Tell whether LINE is an image label: mostly the title plus "photo N"."""
    if not line.rstrip()[-1:].isdecimal():  # the pattern ends in digits: skip the search
        return False
    match = IMAGE_LABEL.search(line)
    if not match or match.group(1).lower() not in image_words:
        return False
    label = set(WORD.findall(line[: match.start()].lower()))
    title_words = set(WORD.findall(title.lower()))
    return bool(label) and len(label & title_words) >= 0.6 * len(label)


def is_stray_token(line: str, stray_tokens: frozenset[str]) -> bool:
    """Tell whether LINE is a template leftover such as "null"."""
    return line.strip().lower() in stray_tokens


def drop_marker_blocks(
    lines: list[str], headings: frozenset[str], links: Container[str]
) -> list[str]:
    """Drop each marker line (not the first line) and the link lines that follow it.

    A marker heads teasers: the lines after it go while they are wholly link texts (or the
    body ends within a few short lines); the article text after the block stays.
    """
    kept: list[str] = []
    dropping = False
    for index, line in enumerate(lines):
        if index and len(line) <= MAX_LABEL_CHARS and normalize_label(line) in headings:
            dropping = True
            continue
        if dropping and (
            token_string(line) in links or is_list_line(line) or is_short_tail(lines[index:])
        ):
            continue
        dropping = False
        kept.append(line)
    return kept


def is_list_line(line: str) -> bool:
    """Tell whether LINE is a list of short names ("tag one, tag two, tag three, ...")."""
    parts = [part for part in LIST_SEPARATORS.split(line) if part.strip()]
    return len(parts) >= LIST_MIN_ITEMS and len(line.split()) <= LIST_ITEM_MAX_WORDS * len(parts)


def is_short_tail(lines: list[str]) -> bool:
    """Tell whether LINES, the end of the body, are a few short lines (teaser titles)."""
    return len(lines) <= 6 and all(len(line.split()) <= TEASER_MAX_WORDS for line in lines)


def is_teaser_line(line: str, links: Container[str], markers: Markers) -> bool:
    """A "read also" line, a box phrase line, or a short line that is wholly a link's text."""
    words = len(line.split())
    if words <= READ_ALSO_MAX_WORDS and read_also_rest(line, markers.read_also_prefixes):
        return True  # a bare prefix is a marker heading: drop_marker_blocks takes it
    if words <= TRAILER_MAX_WORDS and has_phrase(line, markers.box_phrases):
        return True
    return words <= TEASER_MAX_WORDS and token_string(line) in links


def is_trailer(line: str, phrases: tuple[str, ...]) -> bool:
    """Tell whether LINE is a contact or sign-up trailer (an e-mail address, "follow us")."""
    if len(line.split()) > TRAILER_MAX_WORDS:
        return False
    lowered = " ".join(line.lower().split())
    return bool(EMAIL.search(lowered)) or any(phrase in lowered for phrase in phrases)


@functools.cache
def credit_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    """A search for a picture-credit label before ":" or "©", opening a line, a bracket, a
    pipe or slash part, or a sentence ("... Foto: dpa", "(Credit: X)"), built once per list."""
    alternatives = "|".join(map(re.escape, labels)) or "(?!)"
    return re.compile(rf"{CREDIT_OPENERS}(?:{alternatives})\s*\d*\s*[:{COPYRIGHT_SIGN}]",
                      re.IGNORECASE)


def is_picture_credit(line: str, labels: tuple[str, ...]) -> bool:
    """Tell whether LINE is a caption's credit or a copyright notice: a short line holding a
    "©" or a credit label (LABELS) before a colon."""
    if len(line.split()) > CREDIT_MAX_WORDS:
        return False
    return COPYRIGHT_SIGN in line or bool(credit_pattern(labels).search(line))


def is_advert_label(line: str, labels: tuple[str, ...]) -> bool:
    """Tell whether LINE opens with an advertising label (LABELS) and punctuation
    ("ANZEIGE - ...", "*Werbung. ...", "[Sponsored]"), or is one."""
    lowered = line.lower().lstrip("*•·[( ")
    for label in labels:
        if lowered.startswith(label):
            rest = lowered[len(label) :]
            if not rest or (not rest[0].isalnum() and rest.lstrip()[:1] in ADVERT_SEPARATORS):
                return True
    return False


def is_taxonomy_line(line: str, prefixes: tuple[str, ...]) -> bool:
    """Tell whether LINE is a post's taxonomy line ("Filed under ...", "Category: ...").

    A prefix ending in ":" matches only before a colon; the others before any non-letter.
    """
    if len(line.split()) > TRAILER_MAX_WORDS:
        return False
    lowered = SPACED_COLON.sub(":", " ".join(line.lower().split()))
    return any(
        lowered.startswith(prefix)
        and (prefix.endswith(":") or len(lowered) == len(prefix)
             or not lowered[len(prefix)].isalnum())
        for prefix in prefixes
    )


def is_furniture_line(line: str, markers: Markers) -> bool:
    """A picture credit or copyright notice, an advertising label, a taxonomy line, or a line
    that is only a date in numbers (the page's date stamp, not text)."""
    return (
        DATE_LINE.fullmatch(line.strip()) is not None
        or is_picture_credit(line, markers.picture_credit_labels)
        or is_advert_label(line, markers.advert_labels)
        or is_taxonomy_line(line, markers.taxonomy_prefixes)
    )


def is_dangling_label(line: str) -> bool:
    """Tell whether LINE, the body's last, is a short label ending in ":" that heads nothing."""
    return line.endswith(":") and len(line.split()) <= LABEL_LINE_MAX_WORDS


def credit_rest(line: str, prefixes: tuple[str, ...]) -> str | None:
    """Return what follows a credit prefix on a short LINE, or None if not a credit line."""
    words = line.split()
    if not words or len(words) > TRAILING_SHORT_WORDS:
        return None
    lowered = line.lower().strip()
    for prefix in prefixes:
        if lowered == prefix:
            return ""
        if lowered.startswith(prefix) and not lowered[len(prefix)].isalnum():
            return line.strip()[len(prefix) :].lstrip(" :-–—").strip()
    return None


def clean_lines(
    lines: list[str], title: str, markers: Markers, links: Container[str] = frozenset()
) -> list[str]:
    """Drop stray tokens, image labels, a repeated title, teasers, picture credits, adverts,
    taxonomy lines, marker blocks, and the trailers and dangling labels that end the body.

    LINKS holds the token strings (body.token_string) of the page's paragraph-sized links.
    """
    kept = []
    for line in (line.strip() for line in lines):
        if not line or is_stray_token(line, markers.stray_tokens):
            continue
        if is_image_label(line, title, markers.image_words):
            continue
        if is_teaser_line(line, links, markers) or is_furniture_line(line, markers):
            continue
        kept.append(line)
    if kept and title and normalize_label(kept[0]) == normalize_label(title):
        kept = kept[1:]
    kept = drop_marker_blocks(kept, markers.block_headings, links)
    while len(kept) > 1 and (
        is_trailer(kept[-1], markers.trailer_phrases) or is_dangling_label(kept[-1])
    ):
        kept.pop()
    return kept
