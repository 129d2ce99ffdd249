"""Read API for downstream apps: stored stories with the URLs they were seen at.

    from storage.read import iter_stories
    from storage.session import make_engine, make_sessionmaker

    with make_sessionmaker(make_engine("sqlite:///data/newsagg.db"))() as session:
        for story in iter_stories(session, language="vi"):
            print(story.url, story.title, story.seen_urls)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from storage.models import Story, StoryBand, StoryRevision, StoryUrl, UrlRelation
from storage.records import SeenUrl, StoryView

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def _view(story: Story) -> StoryView:
    """A detached, read-only view of a story."""
    seen = sorted(story.urls, key=lambda u: (u.first_seen, u.url))
    return StoryView(
        id=story.id,
        url=story.url,
        title=story.title,
        text=story.text,
        language=story.language,
        published_at=story.published_at,
        authors=list(story.authors or []),
        site=story.site,
        source=story.source,
        original_url=story.original_url,
        publisher=story.publisher,
        seen_urls=[u.url for u in seen],
        updated_at=story.updated_at,
        urls=[SeenUrl(url=u.url, relation=u.relation.value, kind=u.kind,
                      first_seen=u.first_seen, last_seen=u.last_seen) for u in seen],
    )


def iter_stories(
    session: Session,
    *,
    since: dt.datetime | None = None,
    language: str | None = None,
    source: str | None = None,
    published_since: dt.datetime | None = None,
    published_until: dt.datetime | None = None,
    skipped: Callable[[int], None] | None = None,
) -> Iterator[StoryView]:
    """Stories in URL order (stable across crawls), by storage time (`since`: stored or
    updated since), publication time (published_since, published_until), language and source.

    A story that cannot be read (a value the database holds but its column type refuses, as
    SQLite allows) is skipped with a log line, and SKIPPED (if given) is called with its id.
    """
    keys = select(Story.id, Story.url).order_by(Story.url)
    if since is not None:
        keys = keys.where(Story.updated_at >= since)
    if published_since is not None:
        keys = keys.where(Story.published_at >= published_since)
    if published_until is not None:
        keys = keys.where(Story.published_at < published_until)
    if language is not None:
        keys = keys.where(Story.language == language)
    if source is not None:
        keys = keys.where(Story.source == source)
    last_url = ""
    while True:
        batch = session.execute(keys.where(Story.url > last_url).limit(BATCH_SIZE)).all()
        if not batch:
            return
        yield from _readable_views(session, [row.id for row in batch], skipped)
        last_url = batch[-1].url


STORIES_BY_ID = select(Story).options(selectinload(Story.urls))
UNREADABLE = (ValueError, TypeError, LookupError, UnicodeError)


def _readable_views(session: Session, ids: list[int], skipped: Callable[[int], None] | None
                    ) -> Iterator[StoryView]:
    """The views of stories IDS in that order: in one query, else one by one, skipping those
    that cannot be read."""
    try:
        stories = {s.id: s for s in session.scalars(STORIES_BY_ID.where(Story.id.in_(ids)))}
        views = [_view(stories[story_id]) for story_id in ids]
    except UNREADABLE:
        session.expunge_all()
        views = []
        for story_id in ids:
            try:
                views.append(_view(session.scalars(
                    STORIES_BY_ID.where(Story.id == story_id)).one()))
            except UNREADABLE as exc:
                session.expunge_all()
                logger.warning("Skipping story %d: unreadable (%s: %s)", story_id,
                               type(exc).__name__, str(exc)[:200])
                if skipped is not None:
                    skipped(story_id)
    yield from views


def stored_sources(session: Session) -> list[str]:
    """The names of the sources stories are stored from."""
    return sorted(session.scalars(select(Story.source).distinct()))


def count_stories(session: Session) -> int:
    """How many stories are stored."""
    return session.scalar(select(func.count()).select_from(Story)) or 0


def story_for_url(session: Session, url: str) -> StoryView | None:
    """The story a URL was seen at, or None."""
    story = session.scalars(
        select(Story).join(StoryUrl).where(StoryUrl.url == url).options(selectinload(Story.urls))
    ).first()
    return _view(story) if story else None


def near_duplicate_candidates(session: Session, bands: Sequence[int]
                              ) -> list[tuple[int, bytes]]:
    """(story id, MinHash signature) of the stories sharing a band key with BANDS, by id.

    One lookup of the story_bands primary key per key, whatever the archive's size.
    """
    if not bands:
        return []
    query = (select(Story.id, Story.minhash)
             .where(Story.id.in_(select(StoryBand.story_id)
                                 .where(StoryBand.band.in_(bindparam("bands", expanding=True)))))
             .where(Story.minhash.is_not(None))
             .order_by(Story.id))
    return [(row.id, row.minhash) for row in session.execute(query, {"bands": list(bands)})]


def known_urls_at(session: Session, canonical_urls: Sequence[str],
                  seen_before: dt.datetime | None = None
                  ) -> list[tuple[str, str, dt.datetime, str | None, str | None]]:
    """(canonical URL, url, last_seen, ETag, Last-Modified) of the stored URLs whose canonical
    URL is one of CANONICAL_URLS, first seen before SEEN_BEFORE, of stories that need no refetch.

    A story whose credited original is not its main version (never fetched, or fetched before
    any copy credited it and outranked then: docs/dedup.md) is left out: its aggregator copy
    is fetched again so that the crawl can follow the credit. One indexed lookup per URL.
    """
    if not canonical_urls:
        return []
    original = aliased(StoryUrl)
    query = (
        select(StoryUrl.canonical_url, StoryUrl.url, StoryUrl.last_seen, StoryUrl.http_etag,
               StoryUrl.http_last_modified)
        .join(Story, Story.id == StoryUrl.story_id)
        .where(StoryUrl.canonical_url.in_(bindparam("keys", expanding=True)))
        .where(Story.original_url.is_(None)
               | exists().where(original.url == Story.original_url,
                                original.relation == UrlRelation.ORIGINAL))
    )
    if seen_before is not None:
        query = query.where(StoryUrl.first_seen < seen_before)
    return [(row[0] or "", row[1], row[2], row[3], row[4])
            for row in session.execute(query, {"keys": list(canonical_urls)})]


def story_revisions(session: Session, story_id: int) -> list[StoryRevision]:
    """A story's previous versions, oldest first."""
    return list(session.scalars(
        select(StoryRevision).where(StoryRevision.story_id == story_id)
        .order_by(StoryRevision.revision)
    ))
