"""Politeness benchmark: the product at its shipped settings against N loopback hosts.

Usage: python bench/polite.py [--hosts 10] [--articles 40] [--padding-kb 0] [-s NAME=VALUE ...]

Starts ``tests.sites.latency`` (N hosts on 127.0.1.x, 50-150 ms a response, arrival times
logged by the hosts themselves), runs ``scrapy crawl news -a start_urls=...`` against all of
them (ALLOW_PRIVATE_NETWORKS on, any ``-s`` passed through), then prints from the hosts' log:
per-host histograms of the gaps between consecutive request arrivals (in multiples of the
delay), violations (gaps shorter than the delay, more open requests than the per-host cap,
disallowed paths fetched), robots.txt fetches per host, the longest silence of all hosts
together, requests/s and pages/s, and the fraction of the rate the settings allow.

The allowed rate: a host may receive its n requests in (n - 1) x DOWNLOAD_DELAY at best, all
hosts at once, as long as NEWS_MAX_OPEN_REQUESTS open requests (of the hosts' mean latency)
can carry them; the fraction is that best time over the measured span from the first
request any host received to the last.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from crawler import settings as shipped  # noqa: E402
from tests.sites.latency import LATENCY, arrivals  # noqa: E402

BUCKETS = (1.0, 1.02, 1.1, 1.5, 2.0)


def setting(overrides: dict[str, str], name: str) -> float:
    """A numeric setting: the -s override, else the shipped value."""
    return float(overrides.get(name, getattr(shipped, name)))


def histogram(gaps: list[float], delay: float) -> list[int]:
    """Counts of gaps below each bucket's bound (in delays), then the rest."""
    counts = [0] * (len(BUCKETS) + 1)
    for gap in gaps:
        ratio = gap / delay if delay else float("inf")
        index = next((i for i, bound in enumerate(BUCKETS) if ratio < bound), len(BUCKETS))
        counts[index] += 1
    return counts


def start_hosts(hosts: int, articles: int, log: Path,
                padding_kb: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start the latency hosts; return the process and their URLs."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.sites.latency", "--hosts", str(hosts),
         "--articles", str(articles), "--log", str(log), "--padding-kb", str(padding_kb)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, json.loads(server.stdout.readline())


def run_crawl(urls: dict[str, str], work: Path, extra: list[str]) -> tuple[float, Path]:
    """Crawl every host's home page; return the wall time and the database path."""
    db = work / "polite.db"
    start_urls = ",".join(f"{url}/" for url in urls.values())
    cmd = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={start_urls}",
           "-s", f"DATABASE_URL=sqlite:///{db}", "-s", "ALLOW_PRIVATE_NETWORKS=True",
           "-s", f"NEWS_LOCK_DIR={work / 'locks'}", *extra]
    began = time.monotonic()
    with (work / "crawl.log").open("w", encoding="utf-8") as log:
        result = subprocess.run(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                check=False)
    wall = time.monotonic() - began
    if result.returncode != 0:
        sys.exit(f"crawl failed ({result.returncode}); see {work / 'crawl.log'}")
    return wall, db


def stories(db: Path) -> int:
    """Stories stored."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])


def most_open(log: Path) -> int:
    """The most requests open at once over all hosts, from the arrival and end times."""
    events = []
    for line in log.read_text(encoding="utf-8").splitlines():
        kind, _, at = line.split(" ", 3)[:3]
        if kind not in ("ARR", "END"):
            continue
        events.append((float(at), 1 if kind == "ARR" else -1))
    most = current = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        current += step
        most = max(most, current)
    return most


def report(log: Path, delay: float, cap: int, concurrency: int, hosts: int, articles: int,
           wall: float, stored: int) -> None:
    """Print the histograms, violations and rates from the hosts' arrival log."""
    per_host = arrivals(log)
    first = min(requests[0][0] for requests in per_host.values())
    print(f"gap histogram per host, in delays of {delay:g} s "
          f"(<{' <'.join(f'{b:g}' for b in BUCKETS)} >={BUCKETS[-1]:g}), min gap, robots.txt:")
    short, over_cap, disallowed, all_times, allowed_host = 0, 0, 0, [], 0.0
    shown: list[str] = []
    robots_fetches: list[int] = []
    for host in sorted(per_host):
        requests = per_host[host]
        times = [at for at, _, _ in requests]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        short += sum(gap < delay for gap in gaps)
        shown += [f"{host} {gap:.3f} s before {path}" for gap, (_, _, path)
                  in zip(gaps, requests[1:], strict=True) if gap < delay]
        over_cap += sum(open_now > cap for _, open_now, _ in requests)
        disallowed += sum(path.startswith("/private/") for _, _, path in requests)
        robots = sum(path == "/robots.txt" for _, _, path in requests)
        robots_fetches.append(robots)
        all_times += times
        allowed_host = max(allowed_host, (len(times) - 1) * delay)
        if len(per_host) <= 20 or host in sorted(per_host)[:5]:
            print(f"  {host}: {histogram(gaps, delay)}  min {min(gaps, default=0):.3f} s  "
                  f"max {max(gaps, default=0):.3f} s  n={len(times)}  robots={robots}  "
                  f"from {times[0] - first:.2f} to {times[-1] - first:.2f} s")
    all_times.sort()
    span = all_times[-1] - all_times[0]
    total = len(all_times)
    allowed = max(allowed_host, total * mean(LATENCY) / concurrency)
    silence = max((b - a for a, b in zip(all_times, all_times[1:], strict=False)), default=0)
    windows = {int((at - all_times[0]) / 0.25) for at in all_times}
    silent = int(span / 0.25) + 1 - len(windows)
    print(f"violations: {short} gaps < delay, {over_cap} arrivals above the cap of {cap}, "
          f"{disallowed} disallowed fetches; most open at once, all hosts: {most_open(log)} "
          f"(budget {concurrency})")
    for line in shown[:10]:
        print(f"  short gap: {line}")
    print(f"robots.txt: fetched once by {robots_fetches.count(1)} of {len(per_host)} hosts, "
          f"more than once by {sum(n > 1 for n in robots_fetches)}, "
          f"never by {robots_fetches.count(0)}")
    unstamped = log.read_text(encoding="utf-8").count("NOSTAMP ")
    if unstamped:
        print(f"  {unstamped} arrivals without a kernel time stamp (server's clock instead)")
    print(f"requests: {total} in {span:.2f} s at the hosts ({total / span:.1f}/s); "
          f"longest silence of all hosts {silence:.3f} s, "
          f"{silent} quarter-seconds without a request")
    print(f"stories stored: {stored} of {hosts * articles}; crawl wall time {wall:.2f} s, "
          f"{stored / wall:.1f} pages/s")
    print(f"allowed: {allowed:.2f} s at best -> fraction of the allowed rate {allowed / span:.3f}")


def main() -> None:
    """Serve the hosts, crawl them, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--padding-kb", type=int, default=0,
                        help="KB of menu markup around each article (page weight)")
    parser.add_argument("-s", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="a Scrapy setting for the crawl")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.settings)
    with tempfile.TemporaryDirectory(prefix="polite-") as tmp:
        work = Path(tmp)
        log = work / "arrivals.log"
        server, urls = start_hosts(args.hosts, args.articles, log, args.padding_kb)
        try:
            wall, db = run_crawl(urls, work,
                                 [arg for item in args.settings for arg in ("-s", item)])
        finally:
            server.terminate()
            server.wait(timeout=15)
        delay = setting(overrides, "DOWNLOAD_DELAY")
        cap = int(setting(overrides, "CONCURRENT_REQUESTS_PER_DOMAIN"))
        concurrency = int(setting(overrides, "NEWS_MAX_OPEN_REQUESTS"))
        print(f"{args.hosts} hosts x {args.articles} articles (+{args.padding_kb} KB); "
              f"settings: delay {delay:g} s, cap {cap}, {concurrency} overall, "
              f"{' '.join(args.settings) or 'shipped'}")
        report(log, delay, cap, concurrency, args.hosts, args.articles, wall, stories(db))
        pacing = [line[line.find("pacing:"):]
                  for line in (work / "crawl.log").read_text(encoding="utf-8").splitlines()
                  if "pacing:" in line]
        bound = sum("cpu-bound" in line for line in pacing)
        print(f"crawl's pacing lines: {bound} of {len(pacing)} say cpu-bound; the middle one:")
        if pacing:
            print(f"  {pacing[len(pacing) // 2]}")


if __name__ == "__main__":
    main()
