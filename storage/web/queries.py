"""The API's reads: pages of stories (keyset), one story, runs and per-source health.

Stories are listed newest stored first (id descending) and a search's matches best first
(title matches, then the others, each newest first); the cursor holds the last (tier, id)
shown, so a page never repeats or skips a story that existed when the first page was read,
however many a crawl adds.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, inspect, select
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Story, UrlRelation
from storage.runs import JUDGED_RUN, run_status
from storage.search import query_terms, search_tiers

EXCERPT_CHARS = 240
CURSOR = re.compile(r"([01])\.([1-9][0-9]{0,17})")
SUMMARY_COLUMNS = (Story.id, Story.url, Story.title,
                   func.substr(Story.text, 1, EXCERPT_CHARS).label("excerpt"), Story.language,
                   Story.site, Story.source, Story.publisher, Story.original_url,
                   Story.published_at, Story.created_at, Story.updated_at)


class BadCursor(ValueError):
    """A cursor this API did not hand out."""


@dataclass(frozen=True)
class StoryQuery:
    """Filters and page position of a list of stories (all optional)."""

    q: str | None = None
    source: str | None = None
    site: str | None = None
    language: str | None = None
    published_since: dt.datetime | None = None
    published_until: dt.datetime | None = None
    stored_since: dt.datetime | None = None
    limit: int = 20
    cursor: str | None = None


def encode_cursor(rank: int, story_id: int) -> str:
    """The opaque cursor after (rank, id)."""
    return base64.urlsafe_b64encode(f"{rank}.{story_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(rank, id) of a cursor; BadCursor when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("malformed cursor") from None
    match = CURSOR.fullmatch(raw)
    if match is None:
        raise BadCursor("malformed cursor")
    return int(match[1]), int(match[2])


def _filtered(query: Select[Any], filters: StoryQuery) -> Select[Any]:
    """The query narrowed by the filters (all ANDed)."""
    conditions = [
        column == value for column, value in
        ((Story.source, filters.source), (Story.site, filters.site),
         (Story.language, filters.language)) if value is not None
    ]
    if filters.published_since is not None:
        conditions.append(Story.published_at >= filters.published_since)
    if filters.published_until is not None:
        conditions.append(Story.published_at < filters.published_until)
    if filters.stored_since is not None:
        conditions.append(Story.updated_at >= filters.stored_since)
    return query.where(*conditions)


def story_page(session: Session, filters: StoryQuery) -> tuple[list[dict[str, object]],
                                                                 str | None]:
    """One page of story summaries and the cursor of the next page (None on the last)."""
    after_rank, after_id = decode_cursor(filters.cursor) if filters.cursor else (0, None)
    query = _filtered(select(*SUMMARY_COLUMNS), filters)
    if filters.q is None:
        tiers: list[tuple[Select[Any], ColumnElement[int]]] = [(query, Story.id.expression)]
    else:
        terms = query_terms(filters.q)
        if not terms:
            return [], None
        tiers = search_tiers(query, session.get_bind().dialect.name, terms)
    if after_rank >= len(tiers):
        raise BadCursor("cursor of a search used without its q")
    rows: list[tuple[int, dict[str, object]]] = []
    for rank, (tier, key) in enumerate(tiers):
        if rank < after_rank:
            continue
        if rank == after_rank and after_id is not None:
            tier = tier.where(key < after_id)
        found = session.execute(
            tier.order_by(key.desc()).limit(filters.limit + 1 - len(rows))).all()
        rows += [(rank, dict(row._mapping)) for row in found]
        if len(rows) > filters.limit:
            break
    page = rows[:filters.limit]
    if len(rows) <= filters.limit:
        return [story for _, story in page], None
    last_rank, last = page[-1]
    return [story for _, story in page], encode_cursor(last_rank, int(str(last["id"])))


def story_detail(session: Session, story_id: int) -> dict[str, object] | None:
    """One story with every URL it was seen at and its credit, or None."""
    story = session.get(Story, story_id)
    if story is None:
        return None
    urls = sorted(story.urls, key=lambda u: (u.first_seen, u.url))
    original_stored = any(u.url == story.original_url and u.relation == UrlRelation.ORIGINAL
                          for u in urls)
    return {
        "id": story.id, "url": story.url, "title": story.title,
        "excerpt": story.text[:EXCERPT_CHARS], "text": story.text,
        "authors": list(story.authors or []), "language": story.language,
        "site": story.site, "source": story.source, "publisher": story.publisher,
        "original_url": story.original_url, "published_at": story.published_at,
        "created_at": story.created_at, "updated_at": story.updated_at,
        "urls": [{"url": u.url, "relation": u.relation.value, "kind": u.kind, "site": u.site,
                  "first_seen": u.first_seen, "last_seen": u.last_seen} for u in urls],
        "credit": {"original_url": story.original_url, "publisher": story.publisher,
                   "original_stored": original_stored},
    }


def run_record(run: CrawlRun) -> dict[str, object]:
    """A run's columns and its status (storage.runs.run_status)."""
    return {**{attr.key: getattr(run, attr.key) for attr in inspect(CrawlRun).column_attrs},
            "status": run_status(run)}


def source_health(session: Session) -> list[dict[str, object]]:
    """Each source with its story count, run counts and last run, in name order.

    A source is healthy when its last judged run (one that ended and was not stopped by a
    signal) was not degraded: an interrupted or killed run says nothing about the source."""
    stories = {source: count for source, count in session.execute(
        select(Story.source, func.count()).group_by(Story.source))}
    runs = {row.source: (row.runs, row.degraded) for row in session.execute(
        select(CrawlRun.source, func.count().label("runs"),
               func.count().filter(CrawlRun.degraded.is_(True)).label("degraded"))
        .group_by(CrawlRun.source))}
    last: dict[str, CrawlRun] = {}
    last_judged: dict[str, CrawlRun] = {}
    for found, conditions in ((last, ()), (last_judged, JUDGED_RUN)):
        newest = (select(CrawlRun.source, func.max(CrawlRun.started_at).label("started_at"))
                  .where(*conditions).group_by(CrawlRun.source).subquery())
        for run in session.scalars(
            select(CrawlRun).join(newest, and_(CrawlRun.source == newest.c.source,
                                               CrawlRun.started_at == newest.c.started_at))
            .where(*conditions).order_by(CrawlRun.id)
        ):
            found[run.source] = run
    return [
        {"source": name, "stories": stories.get(name, 0), "runs": runs.get(name, (0, 0))[0],
         "degraded_runs": runs.get(name, (0, 0))[1],
         "last_run": run_record(last[name]) if name in last else None,
         "healthy": name not in last_judged or not last_judged[name].degraded}
        for name in sorted(set(stories) | set(runs))
    ]


def facets(session: Session) -> dict[str, Sequence[str]]:
    """The distinct sources, sites and languages stored, for the page's filters."""
    return {
        name: list(session.scalars(select(column).distinct().where(column.is_not(None))
                                   .order_by(column)))
        for name, column in (("source", Story.source), ("site", Story.site),
                             ("language", Story.language))
    }

