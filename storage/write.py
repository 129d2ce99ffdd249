"""Merge fetched articles into stories, one transaction per article (policy: docs/dedup.md)."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from common.urls import canonical_url
from storage.models import Story, StoryBand, StoryRevision, StoryUrl, UrlRelation
from storage.rank import Tier, main_tier, rank, record_tier
from storage.records import (
    ETAG_LENGTH,
    LAST_MODIFIED_LENGTH,
    MAX_URL_BYTES,
    ArticleRecord,
    storable,
    validator,
)

logger = logging.getLogger(__name__)

# Namespace of the PostgreSQL advisory locks taken per content hash and URL (lock_story_keys).
CONTENT_LOCK_NAMESPACE = 0x6E657773
# Every writer takes its keys in one order: the (namespace, hash) keys ascending, then the band
# keys (single 64-bit keys, a key space apart) ascending, all before it writes anything, so two
# writers never hold a key the other waits for while waiting for one it holds (no deadlock).
LOCK_CONTENT = text("SELECT pg_advisory_xact_lock(:ns, h) FROM (SELECT DISTINCT hashtext(k) AS h "
                    "FROM unnest(CAST(:keys AS text[])) AS k) AS hashed ORDER BY h")
LOCK_BANDS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:bands AS bigint[])) AS k "
                  "ORDER BY k")


class SaveOutcome(enum.StrEnum):
    """What saving an article did to the database."""

    NEW = "new"
    UPDATED = "updated"
    REVISED = "revised"
    DUPLICATE = "duplicate"


def story_keys(record: ArticleRecord) -> set[str]:
    """The keys that name a record's story: its body hash and the URLs it is looked up by."""
    keys = {record.content_hash, record.url, *record.aliases}
    if record.original_url and record.original_verified:
        keys.add(record.original_url)
    return keys


def lock_story_keys(session: Session, records: Sequence[ArticleRecord]) -> None:
    """Serialize concurrent writers of the same stories until the transaction ends.

    Call it before looking the records' stories up (their near-duplicate candidates
    included), with every record the transaction will write: a batch locks all its keys up
    front, in one sorted order, so two batches holding the same stories in crossed order wait
    for each other instead of deadlocking. URLs are unique columns, so a racing insert fails
    and is retried; a body hash and a near-duplicate are not, so on PostgreSQL a writer takes
    an advisory lock on each record's story keys (body hash and URLs) and on each of its LSH
    band keys (two near-duplicates that can find each other share a band key: the second
    waits, then sees the first's bands); a lock the transaction already holds is granted at
    once. On SQLite the transaction takes the database's write lock up front (BEGIN
    IMMEDIATE), so every writer's lookup sees what the others committed.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        keys = sorted(set().union(*(story_keys(record) for record in records)))
        conn.execute(LOCK_CONTENT, {"ns": CONTENT_LOCK_NAMESPACE, "keys": keys})
        bands = sorted({band for record in records for band in record.bands})
        if bands:
            conn.execute(LOCK_BANDS, {"bands": bands})
    elif conn.dialect.name == "sqlite" and not getattr(
        conn.connection.dbapi_connection, "in_transaction", True
    ):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _story_by_keys() -> Select[int, int, bool]:
    """(story id, rank, own text) of the story an article belongs to, best rank then lowest id.

    Ranks: seen at one of the `keys` URLs (SEEN_AT_KEY), main URL one of them, the body
    hash `content_hash`, the near-duplicate story `near_id`, the story seen at `near_url`.
    Own text: the story's main version was fetched at its own URL (an `original` row there).
    Each rank is one indexed lookup (a UNION ALL of them), so the query's cost does not grow
    with the archive: one OR over them made PostgreSQL scan both tables (256 ms a record at
    100,000 stories).
    """
    keys: BindParameter[str] = bindparam("keys", expanding=True)
    lookups = [
        select(StoryUrl.story_id, literal(0)).where(StoryUrl.url.in_(keys)),
        select(Story.id, literal(1)).where(Story.url.in_(keys)),
        select(Story.id, literal(2)).where(Story.content_hash == bindparam("content_hash")),
        select(Story.id, literal(3)).where(Story.id == bindparam("near_id")),
        select(StoryUrl.story_id, literal(4)).where(StoryUrl.url == bindparam("near_url")),
    ]
    ranked = union_all(*lookups).subquery("ranked")
    story_id, key_rank = ranked.c[0], ranked.c[1]
    best = select(story_id.label("id"), key_rank.label("rank")).order_by(
        key_rank, story_id).limit(1).subquery("best")
    own_text = exists().where(StoryUrl.url == Story.url,
                              StoryUrl.relation == UrlRelation.ORIGINAL)
    return select(best.c.id, best.c.rank, own_text).join(Story, Story.id == best.c.id)


SEEN_AT_KEY = 0
# Statements built once (the merge runs them for every stored page).
STORY_BY_KEYS = _story_by_keys()
STORY_URL = select(StoryUrl).where(StoryUrl.url == bindparam("url"))
INSERT_STORY_URL = insert(StoryUrl)
INSERT_STORY = insert(Story).returning(Story.id)
STORY_AT_URL = select(Story.id).where(Story.url == bindparam("url"))
INSERT_BANDS = insert(StoryBand)
DELETE_BANDS = delete(StoryBand).where(StoryBand.story_id == bindparam("story_id"))


def lookup_key(url: str) -> str | None:
    """The known-URL lookup key of a stored URL: its canonical form, None when that is over
    the index entry bound (percent-encoding can lengthen a URL past it)."""
    key = canonical_url(url)
    return key if len(key.encode("utf-8")) <= MAX_URL_BYTES else None


def find_story(session: Session, record: ArticleRecord) -> tuple[Story | None, bool, bool]:
    """The story this article belongs to: by any of its URLs, body hash, then near-duplicate.

    One query (STORY_BY_KEYS) on the session's connection, after flushing what is pending
    (as Session.execute would), then the story itself when one matched. The first flag is
    True when a story was seen at one of the article's URLs (False: every one of them is new
    to the database); the second when the story's main version was fetched at its own URL.
    """
    keys = {record.url, *record.aliases}
    if record.original_url and record.original_verified:
        keys.add(record.original_url)
    session.flush()
    row = session.connection().execute(STORY_BY_KEYS, {
        "keys": sorted(keys), "content_hash": record.content_hash,
        "near_id": record.near_duplicate_of, "near_url": record.near_duplicate_url,
    }).first()
    if row is None:
        return None, False, False
    return session.get_one(Story, row[0]), row[1] == SEEN_AT_KEY, bool(row[2])


def _content(record: ArticleRecord) -> dict[str, Any]:
    """The story columns a main version sets: the record's article fields."""
    return {
        "title": record.title, "text": record.text, "authors": list(record.authors),
        "published_at": record.published_at, "language": record.language,
        "language_probability": record.language_probability,
        "language_method": record.language_method, "content_hash": record.content_hash,
        "minhash": record.minhash, "site": record.site, "source": record.source,
        "publisher": record.publisher,
    }


def _index_bands(session: Session, story_id: int, bands: tuple[int, ...],
                 replace: bool = True) -> None:
    """Make BANDS the story's LSH band keys (REPLACE False: it has none yet)."""
    conn = session.connection()
    if replace:
        conn.execute(DELETE_BANDS, {"story_id": story_id})
    if bands:
        conn.execute(INSERT_BANDS, [{"band": band, "story_id": story_id} for band in bands])


def _apply_content(session: Session, story: Story, record: ArticleRecord) -> None:
    """Copy the record's article fields onto the story, its band keys included."""
    for column, value in _content(record).items():
        setattr(story, column, value)
    _index_bands(session, story.id, record.bands)


def _insert_story(session: Session, record: ArticleRecord) -> int:
    """A new story made of the record, in one INSERT on the session's connection; its id.

    No ORM object: nothing of a new story is read again in this merge, and a later record of
    the batch that belongs to it finds it in the database like any other.
    """
    verified = record.original_verified if record.original_url else None
    story_id: int = session.connection().execute(INSERT_STORY, {
        "url": record.original_url if verified else record.url,
        "original_url": record.original_url, "original_verified": verified,
        "created_at": record.fetched_at, "updated_at": record.fetched_at, **_content(record),
    }).scalar_one()
    _index_bands(session, story_id, record.bands, replace=False)
    return story_id


def _add_revision(session: Session, story: Story, replaced_at: dt.datetime) -> int:
    """Keep the story's current main version as its next revision; returns its number."""
    last = session.scalar(
        select(func.max(StoryRevision.revision)).where(StoryRevision.story_id == story.id)
    )
    number = (last or 0) + 1
    session.add(StoryRevision(story_id=story.id, revision=number, url=story.url,
                              title=story.title, text=story.text,
                              content_hash=story.content_hash,
                              published_at=story.published_at, replaced_at=replaced_at))
    return number


def _remember_url(session: Session, story_id: int, loaded: Story | None, url: str,
                  relation: UrlRelation, kind: str | None, record: ArticleRecord,
                  lookup: bool = True) -> bool:
    """Record that story STORY_ID (LOADED: its ORM object, if any) was seen at a URL; True
    when the URL is new to the story.

    LOOKUP False: the caller knows no story was seen at the URL (find_story said so).
    """
    known = session.scalars(STORY_URL, {"url": url}).first() if lookup else None
    fetched = url == (record.fetched_url or record.url)
    if known is not None:
        known.last_seen = max(known.last_seen, record.fetched_at)
        if relation is UrlRelation.ORIGINAL and known.relation is not UrlRelation.ORIGINAL:
            known.relation = relation
            known.kind = None
        if fetched:
            known.http_etag = record.http_etag
            known.http_last_modified = record.http_last_modified
        return False
    # One INSERT statement on the session's connection rather than an ORM object: no
    # unit-of-work flush for it, and the story's URL list is not loaded to append one. A
    # list already loaded is expired so it is read again, with this row, when next used.
    session.connection().execute(INSERT_STORY_URL, {
        "story_id": story_id, "url": url, "canonical_url": lookup_key(url),
        "relation": relation, "kind": kind, "site": record.site,
        "first_seen": record.fetched_at, "last_seen": record.fetched_at,
        "http_etag": record.http_etag if fetched else None,
        "http_last_modified": record.http_last_modified if fetched else None,
    })
    if loaded is not None and "urls" not in inspect(loaded).unloaded:
        session.expire(loaded, ["urls"])
    return True


def _demote_main_url(story: Story) -> None:
    """The story's current main URL becomes a copy (another one is about to replace it)."""
    for seen in story.urls:
        if seen.url == story.url and seen.relation is UrlRelation.ORIGINAL:
            seen.relation = UrlRelation.AGGREGATOR


def _take_credit(session: Session, story: Story, record: ArticleRecord) -> bool:
    """Make the record's credited original the story's; False when another story has its URL.

    A story whose copies credit an original takes that URL, so a story seen at one of the
    record's URLs must not take a URL that is already another story's.
    """
    credited = record.original_url
    assert credited is not None
    if story.url != credited and session.scalar(STORY_AT_URL, {"url": credited}) is not None:
        logger.info("Story %d: %s credits %s, already another story's URL", story.id,
                    record.url, credited)
        return False
    story.original_url = credited
    story.original_verified = True
    return True


def _merge(session: Session, story: Story, record: ArticleRecord, own_text: bool
           ) -> SaveOutcome:
    """Merge a record into an existing story; the outcome says what changed.

    The record becomes the main version when it ranks before the current one (rank), so
    the main version is the first of the story's records in that order, whatever came first.
    """
    if record.url == story.url and own_text:
        if not record.variant and record.content_hash != story.content_hash:
            number = _add_revision(session, story, record.fetched_at)
            logger.info("Story %d changed at %s: kept revision %d", story.id, story.url, number)
            _apply_content(session, story, record)
            return SaveOutcome.REVISED
        if story.minhash is None and record.content_hash == story.content_hash:
            story.minhash = record.minhash
            _index_bands(session, story.id, record.bands)
        return SaveOutcome.DUPLICATE
    # A credit not verified (its page was never fetched) names the story's original without
    # making it the story's URL or a key other copies are merged by (issue 14).
    if (record.original_url and record.original_verified
            and (story.original_url is None or story.original_verified is False)
            and not _take_credit(session, story, record)):
        return SaveOutcome.DUPLICATE
    credited = story.original_url if story.original_verified is not False else None
    tier = record_tier(record, credited)
    url = credited if credited is not None and tier <= Tier.CREDITING_COPY else record.url
    if rank(tier, url, record) >= rank(main_tier(story, own_text), story.url, story):
        return SaveOutcome.DUPLICATE
    if story.url != url:
        _demote_main_url(story)
        story.url = url
    _apply_content(session, story, record)
    return SaveOutcome.UPDATED


def _relation(story_url: str, record: ArticleRecord) -> UrlRelation:
    """The fetched URL's relation: an uncredited page merged into another's story is a copy."""
    if record.relation is UrlRelation.ORIGINAL and record.url != story_url:
        return UrlRelation.AGGREGATOR
    return record.relation


# Called once the record's story keys are locked, before its story is looked up: the record
# as it is to be merged (with_near_duplicate in pipelines/store.py sets near_duplicate_of).
Prepare = Callable[[Session, ArticleRecord], ArticleRecord]


def save_article(session: Session, record: ArticleRecord, prepare: Prepare | None = None,
                 batched: bool = False) -> tuple[SaveOutcome, int]:
    """Merge an article into its story (creating it when new); returns outcome and story id.

    The caller owns the transaction: commit after this returns, roll back on error. The
    record is first bounded as the schema holds it (storable: UnstorableRecord if it cannot be),
    then its story keys are locked (lock_story_keys) and `prepare`, if given, completes it.
    BATCHED: the caller did both for its whole batch (write_batch), so neither is done again.
    """
    if not batched:
        record = storable(record)
        lock_story_keys(session, [record])
    if prepare is not None:
        record = prepare(session, record)
    story, seen, own_text = find_story(session, record)
    if story is None:
        story_id = _insert_story(session, record)
        story_url = record.original_url if record.original_verified else record.url
        story_url = story_url or record.url
        outcome = SaveOutcome.NEW
    else:
        outcome = _merge(session, story, record, own_text)
        if outcome is not SaveOutcome.DUPLICATE:
            story.updated_at = record.fetched_at
        story_id, story_url = story.id, story.url
    kinds = dict(record.alias_kinds)
    # Unless find_story found a story seen at one of the record's URLs, all are unknown.
    lookup = seen
    new_url = False
    if not record.variant:
        new_url = _remember_url(session, story_id, story, record.url,
                                _relation(story_url, record), None, record, lookup)
    for alias in dict.fromkeys(record.aliases):
        if alias != record.url:
            new_url |= _remember_url(session, story_id, story, alias, UrlRelation.ALIAS,
                                     kinds.get(alias), record, lookup)
    session.flush()
    if outcome is SaveOutcome.DUPLICATE and new_url:
        logger.debug("Story %d also seen at %s", story_id, record.url)
    return outcome, story_id


def touch_url(session: Session, url: str, seen_at: dt.datetime, etag: str | None,
              last_modified: str | None) -> bool:
    """Record a revisit that found a URL unchanged (HTTP 304); False when the URL is unknown."""
    known = session.scalars(STORY_URL, {"url": url}).first()
    if known is None:
        return False
    known.last_seen = max(known.last_seen, seen_at)
    known.http_etag = validator(etag, ETAG_LENGTH) or known.http_etag
    known.http_last_modified = (validator(last_modified, LAST_MODIFIED_LENGTH)
                                or known.http_last_modified)
    return True
