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

    def to_json(self) -> dict[str, object]:
        """The export's JSON object: the public contract of `scrapy export`."""
        return {
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "language": self.language,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "authors": list(self.authors),
            "site": self.site,
            "original_url": self.original_url,
            "publisher": self.publisher,
            "seen_urls": list(self.seen_urls),
        }
