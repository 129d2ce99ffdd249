"""What the API takes and returns: query parameters and JSON bodies (in its OpenAPI docs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class StrictQuery(BaseModel):
    """Query parameters: unknown names are refused, empty values count as absent."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        """An empty form field (`?language=`) means no filter."""
        return None if value == "" else value


class StoryFilters(StrictQuery):
    """Which stories to list, and which page of them."""

    q: str | None = Field(None, max_length=200,
                          description="search words; accents optional ('cong doan')")
    source: str | None = Field(None, max_length=255, description="configured source name")
    site: str | None = Field(None, max_length=255, description="host the story was stored from")
    language: str | None = Field(None, max_length=16, description="ISO 639-1 code")
    published_since: dt.datetime | None = Field(None, description="ISO 8601; naive is UTC")
    published_until: dt.datetime | None = Field(None, description="ISO 8601, exclusive")
    stored_since: dt.datetime | None = Field(None, description="stored or updated since")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=64, description="next_cursor of the last page")

    @field_validator("published_since", "published_until", "stored_since")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        """Naive times are UTC."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class RunFilters(StrictQuery):
    """Which crawl runs to list."""

    source: str | None = Field(None, max_length=255)
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class NoParameters(StrictQuery):
    """An endpoint that takes no query parameters."""


class StorySummary(BaseModel):
    """A story in a list: what a reader needs to pick it."""

    id: int
    url: str
    title: str
    excerpt: str
    language: str | None
    site: str
    source: str
    publisher: str | None
    original_url: str | None
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class StoriesPage(BaseModel):
    """One page of stories, best first for a search, else newest stored first."""

    stories: list[StorySummary]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")


class SeenUrlOut(BaseModel):
    """A URL the story was seen at."""

    url: str
    relation: str = Field(description="original, aggregator or alias")
    kind: str | None = Field(description="alias kind: amp, print, redirect, tracking, canonical")
    site: str
    first_seen: dt.datetime
    last_seen: dt.datetime


class Credit(BaseModel):
    """Who the story is credited to: the original publisher and its URL."""

    original_url: str | None
    publisher: str | None
    original_stored: bool = Field(description="the original's page itself was fetched")


class StoryDetail(StorySummary):
    """One story in full, with every URL it was seen at and its credit."""

    text: str
    authors: list[str]
    urls: list[SeenUrlOut]
    credit: Credit


class RunOut(BaseModel):
    """One crawl run of one source."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    hostname: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = Field(description="null while running, or if killed")
    finish_reason: str | None
    pid: int | None = Field(description="the crawl's process id on its host")
    status: str = Field(description="ok, degraded, failed, interrupted (stopped by a signal), "
                                    "running, killed (never finished, its process gone) or "
                                    "unfinished (never finished, on another host)")
    pages_fetched: int
    stories_new: int
    stories_updated: int
    stories_duplicate: int
    not_articles: int
    errors: dict[str, int]
    fill_rates: dict[str, float]
    degraded: bool
    health_note: str | None


class SourceHealth(BaseModel):
    """A source's health: its stories and its last run."""

    source: str
    stories: int
    runs: int
    degraded_runs: int
    healthy: bool = Field(description="its last run that ended and was not interrupted was not "
                                      "degraded (true with no such run)")
    last_run: RunOut | None


class ApiError(BaseModel):
    """Every error: one line."""

    error: str
