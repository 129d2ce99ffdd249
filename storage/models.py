"""SQLAlchemy models: the database schema downstream apps read (see docs/schema.md).

The schema is a public interface: change it only through an Alembic migration.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp stored as UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert an aware datetime to UTC before it is written."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Return stored values as aware UTC datetimes (SQLite drops the offset)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


UTCTimestamp = Annotated[dt.datetime, mapped_column(UTCDateTime())]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names on every backend."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {dict[str, Any]: JSON, list[str]: JSON}


class UrlRelation(enum.StrEnum):
    """How a URL relates to the story it was seen at."""

    ORIGINAL = "original"
    AGGREGATOR = "aggregator"
    ALIAS = "alias"


class AliasKind(enum.StrEnum):
    """What kind of alias a URL is (story_urls.kind, set only when relation is alias)."""

    AMP = "amp"
    PRINT = "print"
    REDIRECT = "redirect"
    TRACKING = "tracking"
    CANONICAL = "canonical"


class Story(Base):
    """One news story, however many URLs and sites carry it."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    language: Mapped[str | None] = mapped_column(String(16))
    language_probability: Mapped[float | None] = mapped_column(Float)
    language_method: Mapped[str | None] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(255))
    original_url: Mapped[str | None] = mapped_column(Text)
    # False: original_url is a credit whose page could not be fetched to check it (issue 14).
    original_verified: Mapped[bool | None] = mapped_column(Boolean)
    publisher: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[UTCTimestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[UTCTimestamp] = mapped_column(default=utcnow, onupdate=utcnow)

    urls: Mapped[list[StoryUrl]] = relationship(
        back_populates="story", order_by="StoryUrl.id", cascade="all, delete-orphan"
    )
    revisions: Mapped[list[StoryRevision]] = relationship(
        back_populates="story", order_by="StoryRevision.revision", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_stories_published_at", "published_at"),
        Index("ix_stories_language", "language"),
        Index("ix_stories_updated_at", "updated_at"),
        Index("ix_stories_original_url", "original_url"),
        Index("ix_stories_source_updated_at", "source", "updated_at"),
    )


class StoryUrl(Base):
    """A URL a story was seen at, with its relation to the story."""

    __tablename__ = "story_urls"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text, unique=True)
    relation: Mapped[UrlRelation] = mapped_column(
        Enum(UrlRelation, name="url_relation", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e])
    )
    kind: Mapped[str | None] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(255))
    first_seen: Mapped[UTCTimestamp] = mapped_column(default=utcnow)
    last_seen: Mapped[UTCTimestamp] = mapped_column(default=utcnow)
    http_etag: Mapped[str | None] = mapped_column(String(255))
    http_last_modified: Mapped[str | None] = mapped_column(String(64))
    # common.urls.canonical_url(url): known-URL checks find a request's URL by it.
    canonical_url: Mapped[str | None] = mapped_column(Text, index=True)

    story: Mapped[Story] = relationship(back_populates="urls")


class StoryRevision(Base):
    """A previous version of a story's main article, kept when a revisit found it changed."""

    __tablename__ = "story_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replaced_at: Mapped[UTCTimestamp] = mapped_column(default=utcnow)

    story: Mapped[Story] = relationship(back_populates="revisions")

    __table_args__ = (UniqueConstraint("story_id", "revision"),)


class StoryBand(Base):
    """One LSH band key of a story's MinHash signature (storage/bands.py)."""

    __tablename__ = "story_bands"

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CrawlRun(Base):
    """One crawl run of one source: what it fetched and stored, and whether it looked healthy.

    The row is written when the run starts and completed when it ends (storage.runs.run_status
    tells a finished, interrupted, running or killed run apart)."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    hostname: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[UTCTimestamp]
    # NULL until the run ends: a row never finished is a run that is going or was killed.
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    pid: Mapped[int | None] = mapped_column(Integer)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    stories_new: Mapped[int] = mapped_column(Integer, default=0)
    stories_updated: Mapped[int] = mapped_column(Integer, default=0)
    stories_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    not_articles: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fill_rates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    health_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_crawl_runs_source_started_at", "source", "started_at"),)
