"""Read API latency on a 100k-story archive: list and search, p50 and p99, per database.

    python bench/api.py                                   # SQLite: data/bench-api.db
    python bench/api.py --postgres postgresql+psycopg://user@127.0.0.1:5432/bench

Builds the archive once (fake stories with a Zipf vocabulary of Vietnamese, French and English
words and made-up ones, bulk-inserted through the models; the search triggers index them) and
reuses it on the next run. Times storage.web.queries.story_page in process, through the same
read-only engine `scrapy serve` uses: the first page of the latest stories, filtered pages, a
page deep in the cursor chain, and searches of one to three words typed without diacritics
(timed after one warm-up pass over the same searches).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.migrate import upgrade_database  # noqa: E402
from storage.models import Story  # noqa: E402
from storage.search import query_terms  # noqa: E402
from storage.session import make_engine, make_sessionmaker  # noqa: E402
from storage.web.app import read_only_engine  # noqa: E402
from storage.web.queries import StoryQuery, story_page  # noqa: E402

REAL_WORDS = (
    "công đoàn lao động tỉnh Lào Cai xây dựng Đảng chính quyền phát triển kinh tế hội nghị "
    "đường sắt mưa lũ miền Trung nông dân thủ tướng quốc hội giáo dục y tế bệnh viện "
    "học sinh giao thông tàu điện Hà Nội thành phố Hồ Chí Minh du lịch chợ phiên thanh niên "
    "conseil municipal été marché quartier piétonne élection réforme santé école grève "
    "météo orages rivière festival théâtre musée budget council flood barrier river library "
    "election minister parliament hospital school railway storm weather market football "
    "police court investment bank energy climate university festival museum"
).split()
SYLLABLES = "ba ca da ga ha ka la ma na pa ra sa ta va xa be ce de le me ne re se te ve " \
            "bo co do go ho ko lo mo no po ro so to vo xo bu cu du lu mu nu ru su tu vu".split()
SOURCES = [f"source{n}" for n in range(12)]
LANGUAGES = ("vi", "en", "fr")


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Words and their cumulative Zipf weights: real words among 6,000 made-up ones."""
    made_up = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(2, 3)))
                      for _ in range(8000)})[:6000]
    words = REAL_WORDS + made_up
    rng.shuffle(words)
    return words, list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))


def fake_stories(count: int, start: int, seed: int = 100) -> list[dict[str, object]]:
    """`count` story rows numbered from `start`, the same for the same numbers."""
    rng = random.Random(seed + start)
    words, weights = vocabulary(random.Random(seed))
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = []
    for number in range(start, start + count):
        def words_of(count: int) -> str:
            return " ".join(rng.choices(words, cum_weights=weights, k=count))
        title = words_of(rng.randint(6, 12)).capitalize()
        text = "\n\n".join(words_of(rng.randint(30, 60)) + "." for _ in range(rng.randint(2, 4)))
        stored = base + dt.timedelta(minutes=5 * number)
        source = rng.choice(SOURCES)
        rows.append({
            "url": f"https://{source}.example/news/{number}.html", "title": title, "text": text,
            "authors": [], "published_at": stored - dt.timedelta(hours=rng.randint(0, 48)),
            "language": rng.choice(LANGUAGES), "site": f"{source}.example", "source": source,
            "content_hash": f"{number:064x}", "created_at": stored, "updated_at": stored,
        })
    return rows


def build(db_url: str, stories: int, batch: int = 5000) -> None:
    """Fill the archive up to `stories` stories (bulk inserts; the triggers index them)."""
    engine = make_engine(db_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine)() as session:
            have = session.scalar(select(func.count()).select_from(Story)) or 0
            started = time.perf_counter()
            for start in range(have, stories, batch):
                session.execute(insert(Story), fake_stories(min(batch, stories - start), start))
                session.commit()
            if have < stories:
                print(f"  inserted {stories - have} stories in "
                      f"{time.perf_counter() - started:.1f} s")
    finally:
        engine.dispose()


def timed(run: Callable[[], object], times: int) -> list[float]:
    """Milliseconds of each call."""
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def report(name: str, spent: list[float]) -> None:
    """One line: p50 and p99 of a list of timings."""
    ordered = sorted(spent)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(f"  {name:<34} n={len(spent):4d}  p50 {statistics.median(ordered):7.2f} ms  "
          f"p99 {p99:7.2f} ms")


def searches(queries: int) -> list[str]:
    """`queries` search strings of 1 to 3 vocabulary words, folded (typed without accents)."""
    rng = random.Random(7)
    words, weights = vocabulary(random.Random(100))
    return [" ".join(query_terms(" ".join(rng.choices(words, cum_weights=weights,
                                                       k=rng.randint(1, 3)))))
            for _ in range(queries)]


def measure(db_url: str, queries: int) -> dict[str, list[int]]:
    """Time list and search pages on one database; return each search's first page ids."""
    engine = read_only_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            deep = None
            for _ in range(50):
                _, deep = story_page(session, StoryQuery(limit=100, cursor=deep))
            lists = [StoryQuery(), StoryQuery(language="vi"), StoryQuery(source="source3"),
                     StoryQuery(published_since=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)),
                     StoryQuery(cursor=deep)]
            report("list (first, filtered, deep page)",
                   [t for q in lists for t in timed(partial(story_page, session, q),
                                                    queries // len(lists))])
            typed = searches(queries)
            for q in typed:  # warm-up pass: the archive's pages into the cache
                story_page(session, StoryQuery(q=q))
            spent = [timed(partial(story_page, session, StoryQuery(q=q)), 1)[0] for q in typed]
            report("search (1-3 words, folded)", spent)
            return {q: [int(str(s["id"])) for s in story_page(session, StoryQuery(q=q))[0]]
                    for q in typed}
    finally:
        engine.dispose()


def main() -> None:
    """Build or reuse the archives, then print the latency figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--sqlite", default="data/bench-api.db", help="SQLite file ('' to skip)")
    parser.add_argument("--postgres", default="", help="PostgreSQL URL (default: skipped)")
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    targets = [("SQLite", f"sqlite:///{args.sqlite}" if args.sqlite else ""),
               ("PostgreSQL", args.postgres)]
    results = []
    for name, url in targets:
        if not url:
            continue
        print(f"{name}: {args.stories} stories")
        build(url, args.stories)
        results.append(measure(url, args.queries))
    if len(results) == 2:
        same = sum(results[0][q] == results[1][q] for q in results[0])
        print(f"same first page on both databases: {same} of {len(results[0])} distinct searches")


if __name__ == "__main__":
    main()
