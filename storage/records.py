"""Plain records that cross the boundary between the crawler and the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from storage.models import UrlRelation


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
    near_duplicate_of: int | None = None
    near_duplicate_url: str | None = None
    http_etag: str | None = None
    http_last_modified: str | None = None
    fetched_url: str | None = None  # where the page was fetched (validators belong to it)
    variant: bool = False  # fetched at an AMP, print or other alias of url, not at url itself


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
