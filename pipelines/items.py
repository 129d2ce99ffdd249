"""The item that flows spider -> pipelines -> storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.extract import Article


@dataclass
class PageItem:
    """A fetched page the spider takes for an article; each pipeline stage fills its part.

    Spider: url .. http_last_modified. Extract: article. Language: language*.
    Dedup: canonical_url .. bands. Store: near_duplicate_of, story_id, outcome.
    """

    url: str
    html: bytes  # the page's text in UTF-8 (cheap to send to a worker process)
    source: str
    fetched_at: dt.datetime
    request_url: str
    credited_url: str | None = None
    credited_by: str | None = None
    credit_verified: bool | None = None  # credited_url: the same story (True), unfetched (False)
    http_etag: str | None = None
    http_last_modified: str | None = None
    article: Article | None = None
    language: str | None = None
    language_probability: float | None = None
    language_method: str | None = None
    canonical_url: str | None = None
    aliases: list[str] = field(default_factory=list)
    alias_kinds: dict[str, str] = field(default_factory=dict)
    content_hash: str | None = None
    minhash: bytes | None = None
    bands: tuple[int, ...] = ()
    near_duplicate_of: int | None = None
    story_id: int | None = None
    outcome: str | None = None
