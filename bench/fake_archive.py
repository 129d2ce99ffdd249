"""Archives of fake stories for bench/archive.py, written by a fast path: the rows the store
writes for a new story, in multi-row INSERTs.

Each story has a body drawn from the word frequencies of the extraction benchmark's articles
(bench/dedup.py's vocabulary: 4-8 paragraphs of 2-5 sentences of 8-24 words), its MinHash
signature and band keys, one of 400 sites, a date within a year, a canonical URL row and, on
one in four, a tracking alias. The rows are those `pipelines.store.write_record` writes for a
new story (stories, story_urls, story_bands; the search index through SQLite's triggers, and
on PostgreSQL by the trigger's own expressions in bulk after the load: index_search):
tests/test_bench_fake_archive.py compares both paths row for row.

A build can be stopped and resumed: stories are drawn in chunks of CHUNK, each from its own
seed, and a build continues after the archive's highest story id. With --source, the rows
of an archive of the same build are copied instead of drawn again (a PostgreSQL archive
from a SQLite one). A PostgreSQL build killed while index_search runs leaves the search
index without its GIN indexes: build it anew.

    .venv/bin/python bench/fake_archive.py --stories 1000000 URL [URL ...]
    .venv/bin/python bench/fake_archive.py --stories 1000000 --source SQLITE_URL PG_URL
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import multiprocessing
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dedup import Writer  # noqa: E402
from common.urls import canonical_url  # noqa: E402
from crawler import settings as defaults  # noqa: E402
from pipelines.dedup import normalize_body, normalized_hash  # noqa: E402
from pipelines.neardup import NearDuplicateFinder, permutations, signature, to_bytes  # noqa: E402
from storage.migrate import migrated_engine  # noqa: E402
from storage.models import AliasKind, Story, StoryBand, StoryUrl, UrlRelation  # noqa: E402
from storage.records import ArticleRecord  # noqa: E402

SITES = 400
CHUNK = 2_000
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
FINDER = NearDuplicateFinder(defaults.NEWS_DEDUP_THRESHOLD, defaults.NEWS_DEDUP_NUM_PERM)
COEFFICIENTS = permutations(defaults.NEWS_DEDUP_NUM_PERM)
# Build-time settings of the writing connection only (speed of the bulk load, not its rows).
SQLITE_BUILD = ("PRAGMA cache_size=-1000000", "PRAGMA synchronous=OFF")
# PostgreSQL: the writing session fires no triggers (the rows are consistent by construction,
# and the search index is filled afterwards in bulk: index_search).
POSTGRES_BUILD = ("SET synchronous_commit = off", "SET session_replication_role = replica")
SEARCH_BATCH = 5_000
# The search index's rows, as migration 0005's trigger writes them, for the stories of an id
# range that have none.
SEARCH_VECTORS = importlib.import_module(
    "storage.migrations.versions.0005_story_search").SEARCH_VECTORS
SEARCH_FILL = text(
    f"INSERT INTO story_search (story_id, title, document) "
    f"SELECT s.id, {SEARCH_VECTORS.format('s')} FROM stories s "
    f"WHERE s.id BETWEEN :low AND :high "
    f"AND NOT EXISTS (SELECT 1 FROM story_search t WHERE t.story_id = s.id)")


def fake_body(writer: Writer) -> str:
    """An article body: 4-8 paragraphs of 2-5 sentences of 8-24 words, drawn at once."""
    rng = writer.rng
    per_paragraph = rng.integers(2, 6, size=int(rng.integers(4, 9))).tolist()
    lengths = rng.integers(8, 25, size=sum(per_paragraph)).tolist()
    words = writer.draw(sum(lengths))
    sentences, at = [], 0
    for length in lengths:
        sentence = " ".join(words[at:at + length])
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
        at += length
    paragraphs, at = [], 0
    for count in per_paragraph:
        paragraphs.append(" ".join(sentences[at:at + count]))
        at += count
    return "\n\n".join(paragraphs)


def fake_records(count: int, seed: int = 11, start: int = 0) -> Iterator[ArticleRecord]:
    """Stories START to COUNT-1 of an archive of COUNT distinct fake stories, as the dedup
    stage hands them to the store. START is a multiple of CHUNK (each chunk has its seed)."""
    if start % CHUNK:
        raise ValueError(f"start {start} is not a multiple of {CHUNK}")
    writer = Writer(np.random.default_rng(seed))
    for number in range(start, count):
        if number % CHUNK == 0:
            writer.rng = np.random.default_rng([seed, number // CHUNK])
        body = fake_body(writer)
        normalized = normalize_body(body)
        sig = signature(normalized.split(), defaults.NEWS_DEDUP_SHINGLE_SIZE, COEFFICIENTS)
        assert sig is not None
        site = f"site{number % SITES}.example"
        when = NOW - dt.timedelta(minutes=number * 525_600 // max(count, 1))
        url = f"https://{site}/{when:%Y/%m}/story-{number}.html"
        aliases = (f"{url}?utm_source=rss",) if number % 4 == 0 else ()
        yield ArticleRecord(
            url=url, site=site, source=f"source{number % SITES}", title=body[:60],
            text=body, content_hash=normalized_hash(normalized), fetched_at=when,
            authors=["Staff"], published_at=when, language="en", language_probability=0.99,
            language_method="detected", publisher=site, aliases=aliases,
            alias_kinds=tuple((a, AliasKind.TRACKING.value) for a in aliases),
            minhash=to_bytes(sig), bands=FINDER.band_keys(sig), fetched_url=url)


def fast_rows(record: ArticleRecord, story_id: int, url_id: int
              ) -> tuple[dict[str, object], list[dict[str, object]], list[dict[str, object]]]:
    """The stories, story_urls and story_bands rows the store writes for a new story."""
    story = {"id": story_id, "url": record.url, "original_url": None, "title": record.title,
             "text": record.text, "authors": list(record.authors),
             "published_at": record.published_at, "language": record.language,
             "language_probability": record.language_probability,
             "language_method": record.language_method, "content_hash": record.content_hash,
             "minhash": record.minhash, "site": record.site, "source": record.source,
             "publisher": record.publisher, "created_at": record.fetched_at,
             "updated_at": record.fetched_at}
    seen = [(record.url, UrlRelation.ORIGINAL, None)]
    seen += [(alias, UrlRelation.ALIAS, kind) for alias, kind in record.alias_kinds]
    urls = [{"id": url_id + i, "story_id": story_id, "url": url,
             "canonical_url": canonical_url(url), "relation": relation, "kind": kind,
             "site": record.site, "first_seen": record.fetched_at,
             "last_seen": record.fetched_at, "http_etag": None, "http_last_modified": None}
            for i, (url, relation, kind) in enumerate(seen)]
    bands = [{"band": band, "story_id": story_id} for band in record.bands]
    return story, urls, bands


def urls_before(number: int) -> int:
    """How many story_urls rows the stories before story NUMBER have (an alias on one in 4)."""
    return number + (number + 3) // 4


def chunk_rows(job: tuple[int, int, int]) -> tuple[list[dict[str, object]], ...]:
    """(Worker) The stories, story_urls and story_bands rows of the chunk of an archive of
    COUNT stories that starts at story START (SEED): (count, seed, start)."""
    count, seed, start = job
    stories, urls, bands = [], [], []
    records = fake_records(min(count, start + CHUNK), seed, start)
    for number, record in enumerate(records, start):
        story, seen, keys = fast_rows(record, number + 1, urls_before(number) + 1)
        stories.append(story)
        urls += seen
        bands += keys
    bands.sort(key=lambda row: (row["band"], row["story_id"]))
    return stories, urls, bands


def copied_chunks(source_url: str, start: int, count: int
                  ) -> Iterator[tuple[list[dict[str, object]], ...]]:
    """The rows of stories START+1 to COUNT as the archive at SOURCE_URL (built by this
    module with the same seed) holds them, CHUNK stories at a time, as far as it holds
    them: the rows chunk_rows would draw, without drawing them again."""
    engine = migrated_engine(source_url)
    with engine.connect() as conn:
        end = min(count, stored(conn))
        for low in range(start, end, CHUNK):
            high = min(low + CHUNK, end)
            yield tuple([dict(row._mapping) for row in conn.execute(query)] for query in (
                select(Story.__table__).where(Story.id > low, Story.id <= high)
                .order_by(Story.id),
                select(StoryUrl.__table__).where(StoryUrl.story_id > low,
                                                 StoryUrl.story_id <= high)
                .order_by(StoryUrl.id),
                select(StoryBand.__table__).where(StoryBand.story_id > low,
                                                  StoryBand.story_id <= high)
                .order_by(StoryBand.band, StoryBand.story_id)))


def index_search(engine: Engine, threads: int = 2, progress: bool = False) -> None:
    """PostgreSQL: write the search index's rows of the stories that have none, SEARCH_BATCH
    stories per transaction in THREADS sessions, its GIN indexes dropped meanwhile and built
    again at the end (one bulk build instead of a million insertions)."""
    with engine.connect() as conn:
        low, high = (int(bound or 0) for bound in
                     conn.execute(text("SELECT min(id), max(id) FROM stories")).one())
        missing = conn.scalar(text(
            "SELECT count(*) FROM stories s WHERE NOT EXISTS "
            "(SELECT 1 FROM story_search t WHERE t.story_id = s.id)"))
        if not missing:
            return
        gin = [(str(name), str(definition)) for name, definition in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'story_search' "
            "AND indexdef LIKE '%USING gin%'"))]
        for name, _definition in gin:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.commit()

    def fill(first: int) -> None:
        with engine.begin() as session:
            session.execute(SEARCH_FILL, {"low": first, "high": first + SEARCH_BATCH - 1})
        if progress:
            print(f"search index {first + SEARCH_BATCH - 1}", flush=True)

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fill, range(low, high + 1, SEARCH_BATCH)))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            for _name, definition in gin:
                conn.execute(text(definition))


def stored(conn: Connection) -> int:
    """The highest story id in an archive (0 when empty): how many fake stories it holds."""
    return conn.scalar(select(func.max(Story.id))) or 0


def build_fast(db_url: str, count: int, seed: int = 11, workers: int = 0,
               progress: bool = False, source: str | None = None) -> int:
    """Bring the archive at DB_URL to COUNT fake stories by the fast path, CHUNK stories per
    transaction, resuming after the stories it holds; how many it holds then. WORKERS
    processes draw the chunks (0: this process); with SOURCE, the URL of an archive built
    with the same seed, its rows are copied instead, as far as it holds them."""
    engine = migrated_engine(db_url)
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn, ExitStack() as stack:
        for statement in POSTGRES_BUILD if postgres else SQLITE_BUILD:
            conn.exec_driver_sql(statement)
        done = stored(conn)
        conn.commit()
        chunks: Iterable[tuple[list[dict[str, object]], ...]]
        if source:
            chunks = copied_chunks(source, done, count)
        else:
            jobs = [(count, seed, start) for start in range(done, count, CHUNK)]
            pool = stack.enter_context(multiprocessing.Pool(workers)) if workers else None
            chunks = pool.imap(chunk_rows, jobs) if pool else map(chunk_rows, jobs)
        started = time.perf_counter()
        for stories, urls, bands in chunks:
            with conn.begin():
                conn.execute(insert(Story), stories)
                conn.execute(insert(StoryUrl), urls)
                conn.execute(insert(StoryBand), bands)
            done += len(stories)
            if progress:
                print(f"{engine.dialect.name} {done} stories "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
        if postgres:
            with conn.begin():
                conn.exec_driver_sql("RESET session_replication_role")
                for table in ("stories", "story_urls"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                      f" (SELECT coalesce(max(id), 1) FROM {table}))"))
    if postgres:
        index_search(engine, progress=progress)
        # As after any bulk load: statistics and the visibility map now, not by autovacuum
        # in the middle of the crawl being measured.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return done


def main() -> None:
    """Build (or finish building) archives of N fake stories at the given database URLs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2, help="processes drawing stories")
    parser.add_argument("--source", metavar="URL",
                        help="copy the stories this archive (same seed) holds, not draw them")
    parser.add_argument("urls", nargs="+", metavar="URL", help="SQLAlchemy database URL")
    args = parser.parse_args()
    for url in args.urls:
        started = time.perf_counter()
        total = build_fast(url, args.stories, workers=args.workers, progress=True,
                           source=args.source)
        print(f"{url}: {total} stories, {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
