"""Archive scale benchmark: a crawl's start-up, memory, throughput and merges against archives
of N stored stories, and the dedup lookups' latency in them.

Run from the repository root (never from the test suite):

    .venv/bin/python bench/archive.py --stories 0,100000                 # SQLite
    .venv/bin/python bench/archive.py --stories 0,100000 --postgres URL  # and PostgreSQL
    .venv/bin/python bench/archive.py --backends postgresql --postgres URL
                                     # URL: a server's maintenance database, e.g.
                                     # postgresql+psycopg://newsagg@127.0.0.1:5432/postgres

For each size, an archive of fake stories is built: bodies drawn from the word frequencies of
the extraction benchmark's articles (bench/dedup.py's Writer), 400 sites, a year of dates,
each with its signature and band keys, a canonical URL row and a tracking alias on one in
four. They are written by a fast path (multi-row INSERTs of the rows the store writes for a
new story); the run first checks that the fast path and the store's own write_record give
identical rows on 300 stories. Then `scrapy crawl news` crawls bench/newssite.py (PAGES
pages, one in ten a near-duplicate) into that archive, and the bench prints the time from
launch to the site's first request, the crawl's peak RSS (main process, and its whole tree
with the worker processes), stories per second from the first request to exit, whether the
crawl merged the same stories as into the empty archive, and the latency of the store's
near-duplicate lookup (band keys) and the incremental crawl's known-URL lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import psycopg
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dedup import Writer  # noqa: E402
from bench.newssite import DEFAULT_DATASET, NewsSite, load_templates, serve  # noqa: E402
from common.urls import canonical_url  # noqa: E402
from crawler import settings as defaults  # noqa: E402
from pipelines.dedup import normalize_body, normalized_hash  # noqa: E402
from pipelines.neardup import (  # noqa: E402
    NearDuplicateFinder,
    from_bytes,
    permutations,
    signature,
    to_bytes,
)
from pipelines.store import write_record  # noqa: E402
from storage.migrate import migrated_engine  # noqa: E402
from storage.models import AliasKind, Story, StoryBand, StoryUrl, UrlRelation  # noqa: E402
from storage.read import known_urls_at, near_duplicate_candidates  # noqa: E402
from storage.records import ArticleRecord  # noqa: E402
from storage.session import make_sessionmaker  # noqa: E402

SITES = 400
CHUNK = 2_000
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
CRAWL = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
         "-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
         "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_FOLLOW_CREDITS=False",
         "-s", "NEWS_LOCK_DIR=", "-s", "LOG_LEVEL=INFO")
FINDER = NearDuplicateFinder(defaults.NEWS_DEDUP_THRESHOLD, defaults.NEWS_DEDUP_NUM_PERM)
COEFFICIENTS = permutations(defaults.NEWS_DEDUP_NUM_PERM)


class TimedSite(NewsSite):
    """The bench site, printing the monotonic time of each robots.txt request (a crawl's
    first request)."""

    def render(self, path: str, base: str) -> tuple[int, str, bytes]:
        """Render as NewsSite does; say when robots.txt was asked for."""
        if path == "/robots.txt":
            print(f"first {time.monotonic()}", flush=True)
        return super().render(path, base)


def fake_records(count: int, seed: int = 11) -> Iterator[ArticleRecord]:
    """COUNT distinct fake stories as the dedup stage hands them to the store."""
    writer = Writer(np.random.default_rng(seed))
    for number in range(count):
        body = "\n\n".join(writer.paragraphs())
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
    seen = [(record.url, UrlRelation.ORIGINAL, None, True)]
    seen += [(alias, UrlRelation.ALIAS, kind, False) for alias, kind in record.alias_kinds]
    urls = [{"id": url_id + i, "story_id": story_id, "url": url,
             "canonical_url": canonical_url(url), "relation": relation, "kind": kind,
             "site": record.site, "first_seen": record.fetched_at,
             "last_seen": record.fetched_at, "http_etag": None, "http_last_modified": None}
            for i, (url, relation, kind, _fetched) in enumerate(seen)]
    bands = [{"band": band, "story_id": story_id} for band in record.bands]
    return story, urls, bands


def build_fast(db_url: str, records: Iterator[ArticleRecord]) -> int:
    """Write the records by the fast path, CHUNK stories per transaction; how many."""
    engine = migrated_engine(db_url)
    story_id = url_id = 1
    written = 0
    while chunk := list(itertools.islice(records, CHUNK)):
        stories, urls, bands = [], [], []
        for item in chunk:
            story, seen, keys = fast_rows(item, story_id, url_id)
            stories.append(story)
            urls += seen
            bands += keys
            story_id, url_id = story_id + 1, url_id + len(seen)
        with engine.begin() as conn:
            conn.execute(insert(Story), stories)
            conn.execute(insert(StoryUrl), urls)
            conn.execute(insert(StoryBand), bands)
        written += len(chunk)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("stories", "story_urls"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        # As after any bulk load: statistics and the visibility map now, not by autovacuum
        # in the middle of the crawl being measured.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return written


def dump(db_url: str) -> list[tuple[object, ...]]:
    """Every row of the three tables the archive fills, in id order."""
    engine = migrated_engine(db_url)
    with engine.connect() as conn:
        return [tuple(row) for table, key in ((Story, Story.id), (StoryUrl, StoryUrl.id),
                                              (StoryBand, StoryBand.band))
                for row in conn.execute(select(table.__table__).order_by(key))]


def fast_path_matches(folder: Path) -> bool:
    """True when the fast path writes the very rows write_record does, on 300 stories."""
    fast, store = f"sqlite:///{folder / 'fast.db'}", f"sqlite:///{folder / 'store.db'}"
    build_fast(fast, fake_records(300, seed=5))
    with make_sessionmaker(migrated_engine(store)).begin() as session:
        for record in fake_records(300, seed=5):
            write_record(session, record, FINDER)
    return dump(fast) == dump(store)


def lookup_latency(db_url: str, stories: int, samples: int = 500) -> str:
    """p50 / p99 of the near-duplicate lookup and of the known-URL lookup, in ms."""
    if not stories:
        return "-"
    sessions = make_sessionmaker(migrated_engine(db_url))
    ids = np.random.default_rng(3).choice(stories, size=min(samples, stories), replace=False)
    with sessions() as session:
        picked = session.execute(select(Story.id, Story.minhash, Story.url)
                                 .where(Story.id.in_([int(i) + 1 for i in ids]))).all()
    near, known = [], []
    for _story_id, minhash, url in picked:
        started = time.perf_counter()
        with sessions() as session:
            sig = from_bytes(minhash)
            FINDER.best_match(sig, near_duplicate_candidates(session, FINDER.band_keys(sig)))
        near.append(time.perf_counter() - started)
        started = time.perf_counter()
        with sessions() as session:
            known_urls_at(session, [canonical_url(url)], NOW)
        known.append(time.perf_counter() - started)

    def cut(values: list[float]) -> str:
        ms = statistics.quantiles([v * 1000 for v in values], n=100)
        return f"{ms[49]:.2f}/{ms[98]:.2f}"
    return f"near {cut(near)}, url {cut(known)}"


def crawl(db_url: str, base: str, first: list[float], log: Path) -> dict[str, float]:
    """Crawl the site into DB_URL; start-up, peaks and rate."""
    first.clear()
    cmd = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={base}/",
           "-s", f"DATABASE_URL={db_url}", *CRAWL]
    main_peak = tree_peak = 0
    launched = time.monotonic()
    with log.open("w", encoding="utf-8") as err:
        proc = psutil.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        while proc.poll() is None:
            rss = 0
            for number, part in enumerate([proc, *proc.children(recursive=True)]):
                try:
                    part_rss = part.memory_info().rss
                except psutil.Error:
                    continue
                rss += part_rss
                main_peak = max(main_peak, part_rss) if number == 0 else main_peak
            tree_peak = max(tree_peak, rss)
            time.sleep(0.1)
    ended = time.monotonic()
    if proc.returncode != 0 or not first:
        raise SystemExit(f"crawl failed ({proc.returncode}); see {log}")
    return {"first_request_s": first[0] - launched, "main_mb": main_peak / 2**20,
            "tree_mb": tree_peak / 2**20, "crawl_s": ended - first[0]}


def crawled_groups(db_url: str, base: str) -> tuple[int, list[tuple[str, ...]]]:
    """(stories, URL groups) the crawl stored: how its pages were merged."""
    sessions = make_sessionmaker(migrated_engine(db_url))
    with sessions() as session:
        rows = session.execute(select(StoryUrl.story_id, StoryUrl.url)
                               .join(Story, Story.id == StoryUrl.story_id)
                               .where(Story.source == "start_urls")).all()
        count = session.scalar(select(func.count()).select_from(Story)
                               .where(Story.source == "start_urls")) or 0
    groups: dict[int, list[str]] = {}
    for story_id, url in rows:
        groups.setdefault(story_id, []).append(url.removeprefix(base))
    return count, sorted(tuple(sorted(urls)) for urls in groups.values())


def database(kind: str, folder: Path, postgres: str | None, stories: int) -> str:
    """A fresh database URL of that kind."""
    if kind == "sqlite":
        return f"sqlite:///{folder / f'archive-{stories}.db'}"
    assert postgres is not None
    name = f"archive_bench_{stories}_{int(time.time())}"
    with psycopg.connect(postgres.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return postgres.rsplit("/", 1)[0] + f"/{name}"


def start_site(pages: int, first: list[float]) -> tuple[subprocess.Popen[str], str]:
    """Serve the bench site in a child process; its base URL. FIRST gets each first request."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve",
                             str(pages)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("first "):
                first.append(float(line.split()[1]))
    threading.Thread(target=read, daemon=True).start()
    return proc, base


def serve_forever(pages: int) -> None:
    """(--serve) The bench site, announcing each crawl's first request."""
    asyncio.run(serve(TimedSite(load_templates(DEFAULT_DATASET, pages), pages)))


def main() -> None:
    """Build each archive, crawl into it, print one table row per backend and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", default="0,100000", help="comma-separated sizes")
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server")
    parser.add_argument("--pages", type=int, default=500, help="pages of the crawled site")
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (with --postgres)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.serve)
        return
    sizes = [int(size) for size in args.stories.split(",")]
    kinds = [kind for kind in args.backends.split(",")
             if kind == "sqlite" or (kind == "postgresql" and args.postgres)]
    first: list[float] = []
    site, base = start_site(args.pages, first)
    try:
        with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
            folder = Path(tmp)
            print(f"fast path writes the store's rows: {fast_path_matches(folder)}", flush=True)
            print("backend     stories  build s  first request s  main MB  tree MB  "
                  "stories/s  same merges  lookup p50/p99 ms", flush=True)
            reference: dict[str, list[tuple[str, ...]]] = {}
            for kind in kinds:
                for size in sizes:
                    db_url = database(kind, folder, args.postgres, size)
                    started = time.perf_counter()
                    build_fast(db_url, fake_records(size))
                    built = time.perf_counter() - started
                    figures = crawl(db_url, base, first, folder / f"{kind}-{size}.log")
                    count, groups = crawled_groups(db_url, base)
                    same = reference.setdefault(kind, groups) == groups
                    print(f"{kind:10} {size:>8} {built:>8.1f} {figures['first_request_s']:>16.2f}"
                          f" {figures['main_mb']:>8.0f} {figures['tree_mb']:>8.0f}"
                          f" {count / figures['crawl_s']:>10.1f} {str(same):>12}  "
                          f"{lookup_latency(db_url, size)}", flush=True)
                    migrated_engine(db_url).dispose()
    finally:
        site.terminate()
        site.wait()


if __name__ == "__main__":
    main()
