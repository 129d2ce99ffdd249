"""Plain records that cross the boundary between the crawler and the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from storage.models import UrlRelation

logger = logging.getLogger(__name__)

# What the schema holds (storage/models.py): the bound of each short column, in characters.
NAME_LENGTH = 255  # site, source, publisher
CODE_LENGTH = 16  # language, language_method, alias kind
ETAG_LENGTH = 255
LAST_MODIFIED_LENGTH = 64
# A URL is one key of a unique B-tree index, whose entries PostgreSQL caps at 2,704 bytes:
# longer URLs are refused on every backend alike (TEXT columns hold any URL up to this).
MAX_URL_BYTES = 2600
# Publication dates outside these years are taken as junk (and dropped with a log line).
EARLIEST_DATE = dt.datetime(1800, 1, 1, tzinfo=dt.UTC)
LATEST_DATE = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# NUL (PostgreSQL text refuses it) and UTF-16 surrogates (no UTF-8 encoding exists for them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableRecord(ValueError):
    """A record that no backend can store (a URL over MAX_URL_BYTES)."""


@dataclass(frozen=True)
class ArticleRecord:
    """One fetched article, cleaned, ready to be merged into a story."""

    url: str
    site: str
    source: str
    title: str
    text: str
    content_hash: str
    fetched_at: dt.datetime
    relation: UrlRelation = UrlRelation.ORIGINAL
    authors: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None
    language: str | None = None
    language_probability: float | None = None
    language_method: str | None = None
    original_url: str | None = None
    publisher: str | None = None
    aliases: tuple[str, ...] = ()
    alias_kinds: tuple[tuple[str, str], ...] = ()
    minhash: bytes | None = None
    bands: tuple[int, ...] = ()  # LSH band keys of minhash (storage/bands.py)
    near_duplicate_of: int | None = None
    near_duplicate_url: str | None = None
    http_etag: str | None = None
    http_last_modified: str | None = None
    fetched_url: str | None = None  # where the page was fetched (validators belong to it)
    variant: bool = False  # fetched at an AMP, print or other alias of url, not at url itself
    original_verified: bool = True  # False: original_url was credited but never fetched


@dataclass(frozen=True)
class SeenUrl:
    """A URL a story was seen at, with its relation, alias kind and first/last seen times."""

    url: str
    relation: str
    kind: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime

    def to_json(self) -> dict[str, object]:
        """The export's JSON object for one URL."""
        return {
            "url": self.url,
            "relation": self.relation,
            "kind": self.kind,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
        }


@dataclass(frozen=True)
class StoryView:
    """A stored story as downstream apps read it (the export's shape)."""

    id: int
    url: str
    title: str
    text: str
    language: str | None
    published_at: dt.datetime | None
    authors: list[str]
    site: str
    source: str
    original_url: str | None
    publisher: str | None
    seen_urls: list[str]
    updated_at: dt.datetime
    urls: list[SeenUrl] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The export's JSON object: the public contract of `scrapy export`."""
        return {
            "id": self.id,
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "text": self.text,
            "language": self.language,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "authors": list(self.authors),
            "site": self.site,
            "original_url": self.original_url,
            "publisher": self.publisher,
            "seen_urls": list(self.seen_urls),
            "urls": [u.to_json() for u in self.urls],
            "updated_at": self.updated_at.isoformat(),
        }


def clean_text(value: str) -> str:
    """The text without NUL characters and lone surrogates, which no backend stores alike.

    Anything but text is returned as it is, for the database to refuse (a missing title).
    """
    return UNSTORABLE.sub("", value) if isinstance(value, str) else value


def bounded(value: str | None, length: int) -> str | None:
    """Cleaned text cut to LENGTH characters (None stays None)."""
    return None if value is None else clean_text(value)[:length]


def validator(value: str | None, length: int) -> str | None:
    """An HTTP validator as stored: dropped when over LENGTH (a cut one would never match)."""
    if value is None:
        return None
    cleaned = clean_text(value)
    return cleaned if cleaned and len(cleaned) <= length else None


def stored_url(url: str) -> str:
    """A URL as stored; UnstorableRecord when it is over MAX_URL_BYTES."""
    cleaned = clean_text(url)
    if len(cleaned.encode("utf-8")) > MAX_URL_BYTES:
        raise UnstorableRecord(f"URL of {len(cleaned.encode('utf-8'))} bytes is over "
                               f"{MAX_URL_BYTES}: {cleaned[:80]}...")
    return cleaned


def sane_date(value: dt.datetime | None, url: str) -> dt.datetime | None:
    """An aware date between EARLIEST_DATE and LATEST_DATE in UTC; None (logged) otherwise."""
    if value is None:
        return None
    try:
        utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_DATE <= utc < LATEST_DATE:
        logger.info("Dropping the publication date %s of %s: out of range", value, url[:200])
        return None
    return utc


def optional_url(url: str | None, what: str, page: str) -> str | None:
    """A URL as stored, or None (logged) when it is over MAX_URL_BYTES."""
    if url is None:
        return None
    try:
        return stored_url(url)
    except UnstorableRecord as exc:
        logger.info("Dropping the %s of %s: %s", what, page[:200], exc)
        return None


def storable(record: ArticleRecord) -> ArticleRecord:
    """The record with everything from the web bounded as the schema holds it, on any backend.

    Text loses NUL and lone surrogates; names are cut to their column; validators over their
    column are dropped; out-of-range dates are dropped; an alias or credited URL over
    MAX_URL_BYTES is dropped, the page's own URL raises UnstorableRecord. The same record
    gives the same stored values on SQLite and PostgreSQL.
    """
    url = stored_url(record.url)
    etag = validator(record.http_etag, ETAG_LENGTH)
    if record.http_etag and etag is None:
        logger.info("Dropping an ETag of %d characters of %s", len(record.http_etag), url[:200])
    aliases = {alias: stored for alias in dict.fromkeys(record.aliases)
               if (stored := optional_url(alias, "alias", url)) is not None}
    return dataclasses.replace(
        record,
        url=url,
        site=bounded(record.site, NAME_LENGTH) or "",
        source=bounded(record.source, NAME_LENGTH) or "",
        title=clean_text(record.title),
        text=clean_text(record.text),
        authors=[clean_text(author) for author in record.authors],
        published_at=sane_date(record.published_at, url),
        language=bounded(record.language, CODE_LENGTH),
        language_method=bounded(record.language_method, CODE_LENGTH),
        original_url=optional_url(record.original_url, "credited URL", url),
        publisher=bounded(record.publisher, NAME_LENGTH),
        aliases=tuple(aliases.values()),
        alias_kinds=tuple((aliases[alias], bounded(kind, CODE_LENGTH) or "")
                          for alias, kind in record.alias_kinds if alias in aliases),
        near_duplicate_url=optional_url(record.near_duplicate_url, "near-duplicate URL", url),
        http_etag=etag,
        http_last_modified=validator(record.http_last_modified, LAST_MODIFIED_LENGTH),
        fetched_url=clean_text(record.fetched_url) if record.fetched_url else None,
    )
