"""A throughput-sized site where every story cites the same source link (issue 14).

Usage: python bench/citation.py [--pages 2000]

Serves bench/newssite.py --cite (every article ends with "Source: <a ministry's home page>",
the same link), crawls it with `scrapy crawl news` into SQLite, and prints the distinct
stories the site holds, the stories stored, how many of them name an original, and the
spider's credit counts. Every distinct story must be stored once: the citation merges nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
NEAR_DUPLICATE_EVERY = 10  # bench/newssite.py: every tenth page repeats the story before
CRAWL_SETTINGS = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                  "-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                  "-s", "ALLOW_PRIVATE_NETWORKS=True", "-s", "NEWS_LOCK_DIR=",
                  "-s", "LOG_LEVEL=INFO")


def distinct_stories(pages: int) -> int:
    """The site's distinct stories: its pages but the near duplicates of the page before."""
    last = NEAR_DUPLICATE_EVERY - 1
    return sum(1 for page in range(pages) if page % NEAR_DUPLICATE_EVERY != last)


def main() -> None:
    """Serve the citing site, crawl it, print what was stored."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, str(BENCH_DIR / "newssite.py"), "--pages",
                               str(args.pages), "--cite"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        site = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="citation-") as tmp:
            db = Path(tmp) / "news.db"
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={site}/",
                 "-s", f"DATABASE_URL=sqlite:///{db}", "-s", "NEWS_DEPTH_LIMIT=1000",
                 *CRAWL_SETTINGS], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            with sqlite3.connect(db) as conn:
                stored, credited = conn.execute(
                    "SELECT count(*), count(original_url) FROM stories").fetchone()
    finally:
        server.terminate()
        server.wait()
    credits = dict(re.findall(r"'news/spider/(credits_\w+)': (\d+)", result.stderr))
    expected = distinct_stories(args.pages)
    print(json.dumps({"pages": args.pages, "distinct_stories": expected, "stored": stored,
                      "stored_with_original_url": credited, "crawl_seconds": round(seconds, 1),
                      "exit_status": result.returncode, **credits}, indent=2))
    print("every distinct story stored once" if stored == expected else
          f"MISMATCH: {stored} stored for {expected} distinct stories")


if __name__ == "__main__":
    main()
