"""Archive scale benchmark: a crawl's start-up, memory, throughput and merges against archives
of N stored stories, and the dedup lookups' latency in them.

Run from the repository root (never from the test suite):

    .venv/bin/python bench/archive.py --stories 0,100000                 # SQLite
    .venv/bin/python bench/archive.py --stories 0,100000 --postgres URL  # and PostgreSQL
    .venv/bin/python bench/archive.py --backends postgresql --postgres URL
                                     # URL: a server's maintenance database, e.g.
                                     # postgresql+psycopg://newsagg@127.0.0.1:5432/postgres
    .venv/bin/python bench/archive.py --stories 0,1000000 --dir /big/disk  # archives kept

For each size, an archive of fake stories is built by bench/fake_archive.py (the rows the
store writes, in multi-row INSERTs; tests/test_bench_fake_archive.py checks them against the
store's own write_record). With --dir, SQLite archives are kept in that folder and PostgreSQL
ones as databases archive_bench_N, and a later run reuses (or finishes building) them. Then
`scrapy crawl news` crawls bench/newssite.py (PAGES pages, one in ten a near-duplicate) into
that archive, and the bench prints the time from launch to the site's first request (and
the CPU seconds the crawl process used until then, which a loaded machine inflates less), the
crawl's peak RSS (main process, and its whole tree with the worker processes), stories per
second from the first request to exit (and CPU milliseconds of the process tree per story),
whether the crawl merged the same stories as into the
empty archive, and the latency of the store's near-duplicate lookup (band keys) and the
incremental crawl's known-URL lookup. The crawl's stories and run records are deleted before
and after it (`storage.retention.prune_stories`), so the archive is left as built.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import psycopg
from sqlalchemy import delete, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fake_archive import FINDER, NOW, build_fast, stored  # noqa: E402
from bench.newssite import DEFAULT_DATASET, NewsSite, load_templates, serve  # noqa: E402
from common.urls import canonical_url  # noqa: E402
from pipelines.neardup import from_bytes  # noqa: E402
from storage.migrate import migrated_engine  # noqa: E402
from storage.models import CrawlRun, Story, StoryUrl  # noqa: E402
from storage.read import known_urls_at, near_duplicate_candidates  # noqa: E402
from storage.retention import prune_stories  # noqa: E402
from storage.session import make_sessionmaker  # noqa: E402

SOURCE = "start_urls"  # the source name of a crawl given -a start_urls
CRAWL = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
         "-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
         "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_FOLLOW_CREDITS=False",
         "-s", "NEWS_LOCK_DIR=", "-s", "LOG_LEVEL=INFO")


class TimedSite(NewsSite):
    """The bench site, printing the monotonic time of each robots.txt request (a crawl's
    first request)."""

    def render(self, path: str, base: str) -> tuple[int, str, bytes]:
        """Render as NewsSite does; say when robots.txt was asked for."""
        if path == "/robots.txt":
            print(f"first {time.monotonic()}", flush=True)
        return super().render(path, base)


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
    """Crawl the site into DB_URL; start-up (wall and the main process's CPU seconds), peaks,
    duration and the CPU seconds of the crawl's process tree."""
    first.clear()
    cmd = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={base}/",
           "-s", f"DATABASE_URL={db_url}", *CRAWL]
    main_peak = tree_peak = 0
    start_cpu = 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = time.monotonic()
    with log.open("w", encoding="utf-8") as err:
        proc = psutil.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        while proc.poll() is None:
            rss = 0
            for number, part in enumerate([proc, *proc.children(recursive=True)]):
                try:
                    part_rss = part.memory_info().rss
                    if number == 0 and not start_cpu and first:
                        start_cpu = sum(part.cpu_times()[:2])
                except psutil.Error:
                    continue
                rss += part_rss
                main_peak = max(main_peak, part_rss) if number == 0 else main_peak
            tree_peak = max(tree_peak, rss)
            time.sleep(0.1)
    ended = time.monotonic()
    if proc.returncode != 0 or not first:
        raise SystemExit(f"crawl failed ({proc.returncode}); see {log}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"first_request_s": first[0] - launched, "first_request_cpu_s": start_cpu,
            "main_mb": main_peak / 2**20, "tree_mb": tree_peak / 2**20,
            "crawl_s": ended - first[0],
            "cpu_s": used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime}


def crawled_groups(db_url: str, base: str) -> tuple[int, list[tuple[str, ...]]]:
    """(stories, URL groups) the crawl stored: how its pages were merged."""
    sessions = make_sessionmaker(migrated_engine(db_url))
    with sessions() as session:
        rows = session.execute(select(StoryUrl.story_id, StoryUrl.url)
                               .join(Story, Story.id == StoryUrl.story_id)
                               .where(Story.source == SOURCE)).all()
        count = session.scalar(select(func.count()).select_from(Story)
                               .where(Story.source == SOURCE)) or 0
    groups: dict[int, list[str]] = {}
    for story_id, url in rows:
        groups.setdefault(story_id, []).append(url.removeprefix(base))
    return count, sorted(tuple(sorted(urls)) for urls in groups.values())


def clear_crawl(db_url: str) -> None:
    """Delete what a bench crawl stored (its stories with their rows, its run records)."""
    sessions = make_sessionmaker(migrated_engine(db_url))
    prune_stories(sessions, dt.datetime.now(dt.UTC) + dt.timedelta(days=1), SOURCE)
    with sessions.begin() as session:
        session.execute(delete(CrawlRun).where(CrawlRun.source == SOURCE))


def database(kind: str, folder: Path, postgres: str | None, stories: int) -> str:
    """The URL of the archive of that kind and size: a file in FOLDER, or a database on the
    POSTGRES server (created when absent)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / f'archive-{stories}.db'}"
    assert postgres is not None
    name = f"archive_bench_{stories}"
    with psycopg.connect(postgres.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
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
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the archives here")
    parser.add_argument("--no-build", action="store_true",
                        help="crawl the kept archives as they are (a build stopped early)")
    parser.add_argument("--workers", type=int, default=2, help="processes drawing stories")
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
            folder = args.dir or Path(tmp)
            print("backend     stories  build s  first request s (CPU)  main MB  tree MB  "
                  "stories/s  CPU ms/story  same merges  lookup p50/p99 ms", flush=True)
            reference: dict[str, list[tuple[str, ...]]] = {}
            for kind in kinds:
                for size in sizes:
                    db_url = database(kind, folder, args.postgres, size)
                    clear_crawl(db_url)
                    started = time.perf_counter()
                    with migrated_engine(db_url).connect() as conn:
                        held = stored(conn)
                    if not args.no_build:
                        held = build_fast(db_url, size, workers=args.workers)
                    built = time.perf_counter() - started
                    figures = crawl(db_url, base, first, folder / f"{kind}-{size}.log")
                    count, groups = crawled_groups(db_url, base)
                    same = reference.setdefault(kind, groups) == groups
                    print(f"{kind:10} {held:>8} {built:>8.1f} {figures['first_request_s']:>16.2f}"
                          f" ({figures['first_request_cpu_s']:.2f})"
                          f" {figures['main_mb']:>8.0f} {figures['tree_mb']:>8.0f}"
                          f" {count / figures['crawl_s']:>10.1f}"
                          f" {1000 * figures['cpu_s'] / max(count, 1):>13.1f} {str(same):>12}  "
                          f"{lookup_latency(db_url, held)}", flush=True)
                    clear_crawl(db_url)
                    migrated_engine(db_url).dispose()
    finally:
        site.terminate()
        site.wait()


if __name__ == "__main__":
    main()
