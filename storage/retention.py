"""Retention: delete old stories and every row that indexes them, a batch at a time."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Story, StoryBand, StoryRevision, StoryUrl

logger = logging.getLogger(__name__)

PRUNE_BATCH = 1_000


def prune_batch(session: Session, before: dt.datetime, source: str | None, limit: int) -> int:
    """Delete up to LIMIT stories last updated before BEFORE (of SOURCE, if given) with their
    URLs, revisions and band keys; returns how many stories went."""
    query = select(Story.id).where(Story.updated_at < before).order_by(Story.id).limit(limit)
    if source is not None:
        query = query.where(Story.source == source)
    ids = list(session.scalars(query))
    if ids:
        for table in (StoryBand, StoryUrl, StoryRevision):
            session.execute(delete(table).where(table.story_id.in_(ids)))
        session.execute(delete(Story).where(Story.id.in_(ids)))
    return len(ids)


def prune_stories(sessions: sessionmaker[Session], before: dt.datetime,
                  source: str | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete every story last updated before BEFORE, one short transaction per batch (so a
    crawl writing at the same time waits at most one batch); returns how many went."""
    total = 0
    while True:
        with sessions.begin() as session:
            deleted = prune_batch(session, before, source, batch)
        total += deleted
        if deleted:
            logger.info("Pruned %d stories (%d so far)", deleted, total)
        if deleted < batch:
            return total
