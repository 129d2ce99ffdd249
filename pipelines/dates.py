"""Publication dates: machine-readable ones first, then dates in words (dateparser), htmldate."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import dateparser
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement

from pipelines.metadata import DATE_META_KEYS, TIME_XPATH, meta_value, parse_datetime

logger = logging.getLogger(__name__)

DATE_NAMES = ("date", "time", "publish", "posted", "byline", "meta", "datum", "data", "fecha",
              "zeit", "ngay", "thoi-gian")
DATE_TEXT_MAX_CHARS = 80
YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
MAX_DATE_TEXTS = 4
WORD_NUMBER = re.compile(r"\b\d")  # "21" in "berg2012 am 21. Jan. 2015", not "2012"
DATE_STARTS = 2
CLOCK = re.compile(r"(?<!\d)\d{1,2}\s?[:h]\s?(\d\d)(?!\d)")  # "11:37", "10h10"
URL_DAY = re.compile(r"/((?:19|20)\d\d)/(\d\d?)/(\d\d?)/")  # "/2019/01/01/"
HOUR = timedelta(hours=1)
ZONE_STEP = timedelta(minutes=30)  # zones are whole or half hours from UTC
MAX_ZONE_OFFSET = timedelta(hours=14)
SHOWN_SLACK = timedelta(minutes=1)  # a shown time drops the seconds: 23:37 for 23:37:37
# a CMS's date of the page record (often its last change), not of the article: a weak witness
PAGE_DATE_KEYS = ("date", "dc.date")
ARTICLE_DATE_KEYS = tuple(key for key in DATE_META_KEYS if key not in PAGE_DATE_KEYS)
ZONE_DAY_SLACK = timedelta(days=1)  # a day apart may be one instant in two zones
# a date is read only whole: dateparser would fill a missing day or month from today's; and
# never relative to today ("2020 21 minutes": 21 minutes ago) nor a digit run ("2022": 2020-02-02)
DATEPARSER_SETTINGS: dict[str, object] = {
    "PREFER_DATES_FROM": "past", "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
}


def structured_date(
    tree: HtmlElement, article_ld: dict | None, metas: dict[str, str]
) -> datetime | None:
    """The publication time the page states in machine form: JSON-LD datePublished, meta tags,
    <time>, else the JSON-LD dateCreated (stated by pages that leave datePublished out)."""
    candidates: list[str] = []
    if article_ld:
        candidates += [v for v in (article_ld.get("datePublished"),) if isinstance(v, str)]
    meta = meta_value(metas, *DATE_META_KEYS)
    candidates += [meta] if meta else []
    candidates += [str(v) for v in TIME_XPATH(tree)[:1]]
    if article_ld:
        candidates += [v for v in (article_ld.get("dateCreated"),) if isinstance(v, str)]
    for candidate in candidates:
        parsed = parse_datetime(candidate)
        if parsed:
            return parsed
    return None


def date_texts(tree: HtmlElement) -> list[str]:
    """Short texts with a year in elements named for a date, time or byline, in page order."""
    found: list[str] = []
    for element in tree.iter(etree.Element):
        names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if element.tag != "time" and not any(name in names for name in DATE_NAMES):
            continue
        text = " ".join(" ".join(element.itertext()).split())  # "28.09.19<b>12:44": two words
        if len(text) <= DATE_TEXT_MAX_CHARS and YEAR.search(text) and text not in found:
            found.append(text)
            if len(found) == MAX_DATE_TEXTS:
                break
    return found


def date_in_words(text: str, language: str | None) -> datetime | None:
    """Parse a date written in words or numbers ("Publié le 7 mars 2024 à 10h10"); naive: UTC."""
    written = date_as_written(text, language)
    return written.replace(tzinfo=UTC) if written and not written.tzinfo else written


def date_as_written(text: str, language: str | None) -> datetime | None:
    """Parse a date written in words or numbers by dateparser; naive unless TEXT names a zone.

    A date starts at a number that begins a word and ends at (or two words after) the next
    year; the words before it ("Publié le", "ngày") are left out (but one, which may be a
    month's name). It is tried whole, then up to two words after its year (a time, a zone),
    then up to the year; when that fails, once more from the first number after that year
    ("Ausgabejahr 2022 Datum 25.01.2022"): at most twelve dateparser calls, in the page's
    declared LANGUAGE only (none declared: None).
    """
    if not language:
        return None  # without a declared language dateparser tries every locale: ~1 s
    start = WORD_NUMBER.search(text)
    for _ in range(DATE_STARTS):
        year = YEAR.search(text, start.start()) if start else None
        if start is None or year is None:
            return None
        parsed = date_from(text, start.start(), year, language)
        if parsed:
            return parsed
        start = WORD_NUMBER.search(text, year.end())
    return None


def shown_zone(instant: datetime, texts: list[str], language: str | None) -> timezone | None:
    """The zone whose wall clock a date text shows INSTANT in ("3 May 2022, 11:37 pm" for
    2022-05-04T03:37:37Z: UTC-4), to the minute (seconds dropped) and a whole or half hour
    from UTC; None when no date text with a time of day shows it.
    """
    utc = instant.astimezone(UTC).replace(tzinfo=None)
    minutes = {f"{utc.minute:02d}", f"{(utc.minute + 30) % 60:02d}"}  # of a whole or half hour
    for text in texts:
        if not any(clock.group(1) in minutes for clock in CLOCK.finditer(text)):
            continue
        try:
            shown = date_as_written(text, language)
        except (ValueError, OverflowError, LookupError):
            continue
        if shown is None or shown.time() == time(0):  # no time read: "6:00 h" may be missed
            continue
        if shown.tzinfo:
            offset = shown.utcoffset() or timedelta(0)
            shown = shown.replace(tzinfo=None)
        else:
            offset = ZONE_STEP * round((shown - utc) / ZONE_STEP)
        if abs(offset) <= MAX_ZONE_OFFSET and -SHOWN_SLACK < shown - utc - offset <= timedelta(0):
            return timezone(offset)
    return None


def url_day_zone(instant: datetime, url: str) -> timezone | None:
    """For a UTC INSTANT a day before or after the day URL's path names ("/2019/01/01/" for
    2018-12-31T23:11:59Z), the whole-hour zone nearest UTC that puts it on that day. A date
    without a time (midnight) is a day, not an instant: it is left as it is."""
    match = URL_DAY.search(url)
    if match is None or instant.utcoffset() != timedelta(0) or instant.time() == time(0):
        return None
    try:
        named = date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    midnight = datetime.combine(instant.date(), time(0), UTC)
    if named == instant.date() + timedelta(days=1):
        offset = timedelta(hours=math.ceil((midnight + timedelta(days=1) - instant) / HOUR))
    elif named == instant.date() - timedelta(days=1):
        offset = -timedelta(hours=math.floor((instant - midnight) / HOUR) + 1)
    else:
        return None
    return timezone(offset) if -MAX_ZONE_OFFSET <= offset <= MAX_ZONE_OFFSET else None


def date_from(text: str, start: int, year: re.Match[str], language: str) -> datetime | None:
    """The date TEXT writes from START to YEAR, with the time of up to two words after it.

    The day is read up to the year first: words after it ("2020 21 minutes") may be no time,
    and are kept only when they leave that day as it is.
    """
    head = text[:start].split()
    before = [head[-1]] if head else []
    rest, after = text[start : year.end()].split(), text[year.end() :].split()
    day: datetime | None = None
    for end in dict.fromkeys((0, len(after), min(len(after), 2))):
        for words in (rest, before + rest) if before else (rest,):
            parsed = dateparser.parse(" ".join(words + after[:end]), languages=[language],
                                      settings=DATEPARSER_SETTINGS)
            if parsed and (day is None or parsed.date() == day.date()):
                if day is not None or not after:
                    return parsed
                day = parsed
                break
    return day


def is_page_level(article_ld: dict | None, metas: dict[str, str]) -> bool:
    """Tell whether the page's machine-readable time can only be its page-level meta date
    (PAGE_DATE_KEYS): no JSON-LD datePublished, no article date meta tag."""
    if article_ld and isinstance(article_ld.get("datePublished"), str):
        return False
    page_date = meta_value(metas, *PAGE_DATE_KEYS)
    return meta_value(metas, *ARTICLE_DATE_KEYS) is None and bool(
        page_date and parse_datetime(page_date))


def sole_shown_date(texts: list[str], language: str | None) -> datetime | None:
    """The date TEXTS show when they show one day only (a list of event dates shows several)."""
    shown: dict[date, datetime] = {}
    for text in texts:
        try:
            worded = date_in_words(text, language)
        except (ValueError, OverflowError, LookupError):
            worded = None
        if worded:
            shown.setdefault(worded.date(), worded)
    return next(iter(shown.values())) if len(shown) == 1 else None


@dataclass(frozen=True)
class DateEvidence:
    """What a page states about its date: a machine-readable time, and short date texts.

    PAGE_LEVEL: the machine-readable time is only a page-level meta date (is_page_level).
    """

    structured: datetime | None
    texts: list[str]
    page_level: bool = False

    @property
    def stated(self) -> int:
        """How many dates the page states (1 for a machine-readable one)."""
        return 1 if self.structured else len(self.texts)


def date_evidence(tree: HtmlElement, article_ld: dict | None, metas: dict[str, str]
                  ) -> DateEvidence:
    """The page's machine-readable date and the date texts it shows."""
    structured = structured_date(tree, article_ld, metas)
    return DateEvidence(structured, date_texts(tree),
                        structured is not None and is_page_level(article_ld, metas))


def published_at(tree: HtmlElement, evidence: DateEvidence, url: str,
                 language: str | None = None) -> datetime | None:
    """Return the publication time: machine-readable, then in words, then htmldate's search.

    A machine-readable time is given in the zone whose wall clock the page shows it in, else,
    when it is stated in UTC, in the nearest zone that puts it on the day its URL names: its
    day is the publisher's, not UTC's. A page-level meta date yields to the one day the page
    shows in its date elements when the two are more than a day apart (a day apart may be the
    same instant seen in two zones). htmldate runs only when the page states no date.
    """
    if evidence.page_level and evidence.structured:
        shown = sole_shown_date(evidence.texts, language)
        if shown and abs(shown.date() - evidence.structured.date()) > ZONE_DAY_SLACK:
            return shown
    if evidence.structured:
        zone = shown_zone(evidence.structured, evidence.texts, language) or url_day_zone(
            evidence.structured, url)
        return evidence.structured.astimezone(zone) if zone else evidence.structured
    for text in evidence.texts:
        try:
            worded = date_in_words(text, language)
        except (ValueError, OverflowError, LookupError):
            worded = None
        if worded:
            return worded
    try:
        found = find_date(tree, url=url, original_date=True, extensive_search=True)
    except Exception:  # htmldate may fail on odd trees; a date is optional
        logger.debug("htmldate failed for %s", url)
        return None
    return parse_datetime(found) if found else None
