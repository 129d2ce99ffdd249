"""Merge fetched articles into stories, one transaction per article."""

from __future__ import annotations

import enum
import logging

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.models import Story, StoryUrl, UrlRelation
from storage.records import ArticleRecord

logger = logging.getLogger(__name__)

# Namespace of the PostgreSQL advisory locks taken per content hash (see lock_story_keys).
CONTENT_LOCK_NAMESPACE = 0x6E657773


class SaveOutcome(enum.StrEnum):
    """What saving an article did to the database."""

    NEW = "new"
    UPDATED = "updated"
    DUPLICATE = "duplicate"


def lock_story_keys(session: Session, record: ArticleRecord) -> None:
    """Serialize concurrent writers of the same story until the transaction ends.

    URLs are unique columns, so a racing insert fails and is retried; a body hash is not, so
    on PostgreSQL writers of one content hash take an advisory lock, and on SQLite the
    transaction takes the database's write lock up front (BEGIN IMMEDIATE).
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                     {"ns": CONTENT_LOCK_NAMESPACE, "key": record.content_hash})
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def find_story(session: Session, record: ArticleRecord) -> Story | None:
    """The stored story this article belongs to: by any of its URLs, then by body hash."""
    keys = {record.url, *record.aliases}
    if record.original_url:
        keys.add(record.original_url)
    story = session.scalars(
        select(Story).join(StoryUrl).where(StoryUrl.url.in_(keys)).order_by(Story.id).limit(1)
    ).first()
    if story is None:
        story = session.scalars(
            select(Story).where(Story.url.in_(keys)).order_by(Story.id).limit(1)
        ).first()
    if story is None:
        story = session.scalars(
            select(Story)
            .where(Story.content_hash == record.content_hash)
            .order_by(Story.id)
            .limit(1)
        ).first()
    return story


def _is_main_version(story: Story, record: ArticleRecord) -> bool:
    """True when the record is the story's original and the story holds a copy's text."""
    if record.relation is not UrlRelation.ORIGINAL or record.url != story.url:
        return False
    return not any(
        u.relation is UrlRelation.ORIGINAL and u.url == story.url for u in story.urls
    )


def _apply_content(story: Story, record: ArticleRecord) -> None:
    """Copy the record's article fields onto the story."""
    story.title = record.title
    story.text = record.text
    story.authors = list(record.authors)
    story.published_at = record.published_at
    story.language = record.language
    story.language_probability = record.language_probability
    story.language_method = record.language_method
    story.content_hash = record.content_hash
    story.site = record.site
    story.publisher = record.publisher or story.publisher


def _remember_url(session: Session, story: Story, url: str, relation: UrlRelation,
                  site: str, record: ArticleRecord) -> bool:
    """Record that the story was seen at a URL; True when the URL is new to the story."""
    known = session.scalars(select(StoryUrl).where(StoryUrl.url == url)).first()
    if known is not None:
        known.last_seen = record.fetched_at
        if relation is UrlRelation.ORIGINAL and known.relation is not UrlRelation.ORIGINAL:
            known.relation = relation
        return False
    story.urls.append(StoryUrl(url=url, relation=relation, site=site,
                               first_seen=record.fetched_at, last_seen=record.fetched_at))
    return True


def save_article(session: Session, record: ArticleRecord) -> tuple[SaveOutcome, int]:
    """Merge an article into its story (creating it when new); returns outcome and story id.

    The caller owns the transaction: commit after this returns, roll back on error.
    """
    lock_story_keys(session, record)
    story = find_story(session, record)
    if story is None:
        story = Story(
            url=record.original_url or record.url,
            source=record.source,
            original_url=record.original_url,
            title=record.title,
            text=record.text,
            content_hash=record.content_hash,
            site=record.site,
            created_at=record.fetched_at,
            updated_at=record.fetched_at,
        )
        _apply_content(story, record)
        session.add(story)
        outcome = SaveOutcome.NEW
    elif _is_main_version(story, record):
        _apply_content(story, record)
        story.updated_at = record.fetched_at
        outcome = SaveOutcome.UPDATED
    else:
        outcome = SaveOutcome.DUPLICATE
    if record.original_url and not story.original_url:
        story.original_url = record.original_url
    new_url = _remember_url(session, story, record.url, record.relation, record.site, record)
    for alias in record.aliases:
        if alias != record.url:
            new_url |= _remember_url(session, story, alias, UrlRelation.ALIAS, record.site, record)
    session.flush()
    if outcome is SaveOutcome.DUPLICATE and new_url:
        logger.debug("Story %d also seen at %s", story.id, record.url)
    return outcome, story.id
