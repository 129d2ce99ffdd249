"""Read API for downstream apps: stored stories with the URLs they were seen at.

    from storage.read import iter_stories
    from storage.session import make_engine, make_sessionmaker

    with make_sessionmaker(make_engine("sqlite:///data/newsagg.db"))() as session:
        for story in iter_stories(session, language="vi"):
            print(story.url, story.title, story.seen_urls)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from storage.models import Story, StoryRevision, StoryUrl, UrlRelation
from storage.records import SeenUrl, StoryView

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
) -> Iterator[StoryView]:
    """Stories in URL order (stable across crawls), by storage time (`since`: stored or
    updated since), publication time (since, before), language and source."""
    query = select(Story).options(selectinload(Story.urls)).order_by(Story.url)
    if since is not None:
        query = query.where(Story.updated_at >= since)
    if published_since is not None:
        query = query.where(Story.published_at >= published_since)
    if published_until is not None:
        query = query.where(Story.published_at < published_until)
    if language is not None:
        query = query.where(Story.language == language)
    if source is not None:
        query = query.where(Story.source == source)
    last_url = ""
    while True:
        batch = session.scalars(query.where(Story.url > last_url).limit(BATCH_SIZE)).all()
        if not batch:
            return
        for story in batch:
            yield _view(story)
        last_url = batch[-1].url


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


def iter_signatures(session: Session) -> Iterator[tuple[int, bytes]]:
    """(story id, MinHash signature) of every story that has one, in id order."""
    query = (select(Story.id, Story.minhash).where(Story.minhash.is_not(None))
             .order_by(Story.id).execution_options(yield_per=10_000))
    yield from ((row.id, row.minhash) for row in session.execute(query))


def iter_known_urls(session: Session) -> Iterator[tuple[str, dt.datetime, str | None, str | None]]:
    """(url, last_seen, ETag, Last-Modified) of the URLs of stories that need no refetch.

    A story whose credited original is not its main version (never fetched, or fetched before
    any copy credited it and outranked then: docs/dedup.md) is left out: its aggregator copy
    is fetched again so that the crawl can follow the credit.
    """
    original = aliased(StoryUrl)
    awaiting_original = (
        select(Story.id)
        .where(Story.original_url.is_not(None))
        .where(~exists().where(original.url == Story.original_url,
                               original.relation == UrlRelation.ORIGINAL))
    )
    query = (
        select(StoryUrl.url, StoryUrl.last_seen, StoryUrl.http_etag, StoryUrl.http_last_modified)
        .where(StoryUrl.story_id.not_in(awaiting_original))
        .execution_options(yield_per=10_000)
    )
    yield from ((row.url, row.last_seen, row.http_etag, row.http_last_modified)
                for row in session.execute(query))


def story_revisions(session: Session, story_id: int) -> list[StoryRevision]:
    """A story's previous versions, oldest first."""
    return list(session.scalars(
        select(StoryRevision).where(StoryRevision.story_id == story_id)
        .order_by(StoryRevision.revision)
    ))
