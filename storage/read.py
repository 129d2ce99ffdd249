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

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Story, StoryUrl
from storage.records import StoryView

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
    )


def iter_stories(
    session: Session,
    *,
    since: dt.datetime | None = None,
    language: str | None = None,
    source: str | None = None,
) -> Iterator[StoryView]:
    """Stories in URL order (stable across crawls), by update time, language and source."""
    query = select(Story).options(selectinload(Story.urls)).order_by(Story.url)
    if since is not None:
        query = query.where(Story.updated_at >= since)
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


def count_stories(session: Session) -> int:
    """How many stories are stored."""
    return session.scalar(select(func.count()).select_from(Story)) or 0


def story_for_url(session: Session, url: str) -> StoryView | None:
    """The story a URL was seen at, or None."""
    story = session.scalars(
        select(Story).join(StoryUrl).where(StoryUrl.url == url).options(selectinload(Story.urls))
    ).first()
    return _view(story) if story else None
