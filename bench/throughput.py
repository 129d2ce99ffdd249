"""Throughput of the whole pipeline against a naive spider and trafilatura alone.

Usage: python bench/throughput.py [--pages 5000] [--only a,b,c] [--out DIR]

Serves bench/newssite.py on 127.0.0.1, measures the server alone, then runs and measures
(a) `scrapy crawl news` into SQLite, (b) bench/naive_spider.py (trafilatura + langdetect, b0
without langdetect), (c) trafilatura.extract over
the same HTML in one process with no network; prints stories/s, CPU seconds and the peak RSS
of each whole process tree (worker processes included), then a/b and a/c.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
DEFAULT_OUT = BENCH_DIR / "out" / "throughput"
POLL_S = 0.25
CONNECTIONS = 16
CRAWL_SETTINGS = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                  "-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                  "-s", "LOG_LEVEL=INFO")


@dataclass
class Measure:
    """One measured run."""

    name: str
    stories: int
    seconds: float
    cpu_seconds: float
    main_cpu_seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        """Stories per second of wall time."""
        return self.stories / self.seconds if self.seconds else 0.0


def run_tree(cmd: list[str], cwd: Path, log: Path) -> tuple[float, float, float, float]:
    """Run CMD; wall seconds, CPU seconds of its tree and of CMD alone, peak RSS (MB) of the
    tree (the sum of its processes' RSS: pages shared with the forkserver count twice)."""
    cpu: dict[tuple[int, float], float] = {}
    peak = 0
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as err:
        proc = psutil.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        while proc.poll() is None:
            rss = 0
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        times = p.cpu_times()
                        cpu[(p.pid, p.create_time())] = times.user + times.system
                except psutil.Error:
                    continue
            peak = max(peak, rss)
            time.sleep(POLL_S)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}); see {log}")
    main = max((v for (pid, _), v in cpu.items() if pid == proc.pid), default=0.0)
    return wall, sum(cpu.values()), main, peak / 2**20


def stat_value(log: Path, key: str) -> int:
    """An integer from the crawl's final stats dump."""
    match = re.search(rf"'{re.escape(key)}': (\d+)", log.read_text(encoding="utf-8"))
    return int(match.group(1)) if match else 0


def run_pipeline(site: str, work: Path, workers: str | None) -> Measure:
    """(a) `scrapy crawl news` of the site into a fresh SQLite file."""
    log = work / f"a{workers}.log"
    (work / "a.db").unlink(missing_ok=True)
    extra = ["-s", f"NEWS_WORKERS={workers}"] if workers is not None else []
    cmd = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_urls={site}/",
           "-s", f"DATABASE_URL=sqlite:///{work / 'a.db'}", "-s", "ALLOW_PRIVATE_NETWORKS=True",
           "-s", "NEWS_FOLLOW_CREDITS=False", *CRAWL_SETTINGS, *extra]
    wall, cpu, main, rss = run_tree(cmd, REPO_ROOT, log)
    outcomes = {o: stat_value(log, f"news/store/{o}") for o in ("new", "updated", "duplicate")}
    print(f"  (a) stored: {outcomes}", flush=True)
    stored = sum(outcomes.values())
    return Measure(f"a: crawl news, workers={workers or 'cores'}", stored, wall, cpu, main, rss)


def run_naive(site: str, work: Path, language: bool) -> Measure:
    """(b) the naive spider, run outside the project so none of its settings apply."""
    db = work / f"b{int(language)}.db"
    db.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(BENCH_DIR / "naive_spider.py"),
           "-a", f"site={site}", "-a", f"db={db}", "-a", f"language={int(language)}",
           *CRAWL_SETTINGS]
    wall, cpu, main, rss = run_tree(cmd, work, work / f"b{int(language)}.log")
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM pages WHERE text IS NOT NULL").fetchone()[0]
    name = "b: naive spider" if language else "b0: naive, no langdetect"
    return Measure(name, stored, wall, cpu, main, rss)


def run_ceiling(pages: int, work: Path) -> Measure:
    """(c) trafilatura.extract alone over the same HTML, in one process."""
    out = work / "c.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--ceiling", str(out),
           "--pages", str(pages)]
    _, _, _, rss = run_tree(cmd, REPO_ROOT, work / "c.log")
    found = json.loads(out.read_text(encoding="utf-8"))
    return Measure("c: trafilatura alone", found["stories"], found["seconds"],
                   found["cpu_seconds"], found["cpu_seconds"], rss)


def ceiling(pages: int, out: Path) -> None:
    """Extract every article page of the site with trafilatura; write the timing to OUT."""
    import trafilatura
    from newssite import DEFAULT_DATASET, NewsSite, load_templates

    site = NewsSite(load_templates(DEFAULT_DATASET, pages), pages)
    stories, start, cpu = 0, time.perf_counter(), time.process_time()
    for path, html in site.article_pages():
        if trafilatura.extract(html.decode("utf-8"), url=f"http://127.0.0.1{path}"):
            stories += 1
    out.write_text(json.dumps({"stories": stories, "seconds": time.perf_counter() - start,
                               "cpu_seconds": time.process_time() - cpu}), encoding="utf-8")


async def fetch_all(site: str, paths: list[str]) -> int:
    """GET every path over CONNECTIONS keep-alive connections; the bytes received."""
    host, port = site.removeprefix("http://").split(":")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)

    async def client() -> int:
        received = 0
        reader, writer = await asyncio.open_connection(host, int(port))
        while not queue.empty():
            writer.write(f"GET {queue.get_nowait()} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"Content-Length: (\d+)", head)
            assert found, head
            length = int(found.group(1))
            received += len(await reader.readexactly(length))
        writer.close()
        return received

    return sum(await asyncio.gather(*(client() for _ in range(CONNECTIONS))))


def measure_server(site: str, server: psutil.Process, pages: int) -> dict[str, float]:
    """Pages/s and MB/s the site serves alone to a concurrent client."""
    from newssite import article_path

    paths = [article_path(p) for p in range(pages)]
    cpu, start = sum(server.cpu_times()[:2]), time.perf_counter()
    received = asyncio.run(fetch_all(site, paths))
    seconds = time.perf_counter() - start
    return {"pages_per_s": pages / seconds, "mb_per_s": received / 2**20 / seconds,
            "server_cpu_s": sum(server.cpu_times()[:2]) - cpu}


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--only", default="a,b,c",
                        help="runs to make, from a,b,c, a0 (a with NEWS_WORKERS=0) and b0 (b "
                        "without langdetect)")
    parser.add_argument("--workers", help="NEWS_WORKERS for (a); default: the setting's")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--ceiling", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH_DIR))
    if args.ceiling:
        ceiling(args.pages, args.ceiling)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    server = psutil.Popen([sys.executable, str(BENCH_DIR / "newssite.py"), "--pages",
                           str(args.pages)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        site = server.stdout.readline().strip()
        served = measure_server(site, server, args.pages)
        print(f"site alone: {served['pages_per_s']:.0f} pages/s, {served['mb_per_s']:.0f} MB/s, "
              f"server CPU {served['server_cpu_s']:.1f} s", flush=True)
        results: dict[str, Measure] = {}
        with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
            work = Path(tmp)
            runs = {"a": lambda: run_pipeline(site, work, args.workers),
                    "a0": lambda: run_pipeline(site, work, "0"),
                    "b": lambda: run_naive(site, work, language=True),
                    "b0": lambda: run_naive(site, work, language=False),
                    "c": lambda: run_ceiling(args.pages, work)}
            for key in args.only.split(","):
                server_cpu = sum(server.cpu_times()[:2])
                results[key] = runs[key]()
                m = results[key]
                print(f"{m.name:30} {m.stories:6d} stories {m.seconds:7.1f} s "
                      f"{m.rate:6.1f} stories/s  CPU {m.cpu_seconds:7.1f} s "
                      f"(main {m.main_cpu_seconds:6.1f} s, {m.cpu_seconds / m.stories * 1000:.0f} "
                      "ms/story)  "
                      f"peak RSS {m.peak_rss_mb:6.0f} MB  (server CPU "
                      f"{sum(server.cpu_times()[:2]) - server_cpu:.1f} s)", flush=True)
    finally:
        server.terminate()
        server.wait()
    ratios = {f"{x}/{y}": results[x].rate / results[y].rate
              for x, y in (("a", "b"), ("a", "c"), ("a", "b0"), ("a0", "b"), ("a", "a0"))
              if x in results and y in results}
    for name, value in ratios.items():
        print(f"{name} = {value:.2f}")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"{stamp}-{args.pages}.json").write_text(json.dumps(
        {"pages": args.pages, "site": served, "ratios": ratios,
         "runs": {k: {**asdict(m), "rate": m.rate} for k, m in results.items()}}, indent=2),
        encoding="utf-8")


if __name__ == "__main__":
    main()
