"""Interleaved A/B of two or more checkouts: extraction CPU per page and end-to-end throughput.

Usage: python bench/ab.py CHECKOUT [CHECKOUT ...] [--rounds 3] [--pages 1000] [--cpu-rounds 2]

Each CHECKOUT is a directory holding the project's code at some commit (`git worktree add
--detach DIR COMMIT`). Every checkout runs with this interpreter and its libraries (the code
alone differs), its own code first on PYTHONPATH. Round after round, each checkout in turn:
(1) process_page (extract + language) over the dev pages in one process, process time per
page; (2) its own bench/throughput.py --only a (`scrapy crawl news` of the bench site into
SQLite). Interleaving makes the machine's load hit every checkout alike; the medians and the
spread (min-max) over the rounds are printed at the end, then each checkout's figures over
the first checkout's, round by round, and all of it is written to --out as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"
DEFAULT_OUT = REPO_ROOT / "bench" / "out" / "ab"
CRAWL_LINE = re.compile(r"(\d+) stories\s+([\d.]+) s\s+([\d.]+) stories/s\s+CPU\s+([\d.]+) s "
                        r"\(main\s+([\d.]+) s")


def page_cpu(dataset: Path, rounds: int) -> list[float]:
    """Process time per dev page (ms) of process_page, one figure per round, after a warm-up.

    Imports whichever `pipelines` and `crawler` come first on sys.path (the checkout's).
    """
    from crawler import settings
    from pipelines import work

    truth = json.loads((dataset / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for item_id in sorted(truth):
        raw = gzip.decompress((dataset / "html" / f"{item_id}.html.gz").read_bytes())
        # the crawl hands workers valid UTF-8
        pages.append((raw.decode("utf-8", "replace").encode(), truth[item_id].get("url", "")))
    options = work.LanguageOptions(settings.NEWS_LANGUAGE_MIN_CHARS,
                                   settings.NEWS_LANGUAGE_SAMPLE_CHARS, settings.NEWS_LANGUAGE_SEED)
    work.warm_up(options)
    for html, url in pages[:5]:
        work.process_page(html, url, options)
    found = []
    for _ in range(rounds):
        start = time.process_time()
        for html, url in pages:
            work.process_page(html, url, options)
        found.append((time.process_time() - start) / len(pages) * 1000)
    return found


def checkout_env(checkout: Path) -> dict[str, str]:
    """The environment a checkout's processes run in: its code first on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": str(checkout)}


def measure_cpu(checkout: Path, dataset: Path, rounds: int) -> float:
    """Median ms per dev page of process_page in a fresh process running CHECKOUT's code."""
    cmd = ["nice", sys.executable, str(Path(__file__).resolve()), "--page-cpu", str(dataset),
           "--cpu-rounds", str(rounds)]
    out = subprocess.run(cmd, cwd=checkout, env=checkout_env(checkout), check=True,
                         capture_output=True, text=True).stdout
    return statistics.median(json.loads(out.strip().splitlines()[-1]))


def measure_crawl(checkout: Path, pages: int) -> dict[str, float]:
    """CHECKOUT's bench/throughput.py --only a: stories, wall s, stories/s, CPU s, main CPU s."""
    cmd = ["nice", sys.executable, str(checkout / "bench" / "throughput.py"), "--only", "a",
           "--pages", str(pages), "--out", str(DEFAULT_OUT / "throughput")]
    out = subprocess.run(cmd, cwd=checkout, env=checkout_env(checkout), check=True,
                         capture_output=True, text=True).stdout
    found = CRAWL_LINE.search(out)
    if found is None:
        raise SystemExit(f"no crawl figures from {checkout}:\n{out}")
    stories, wall, rate, cpu, main = map(float, found.groups())
    return {"stories": stories, "seconds": wall, "rate": rate, "cpu_ms_per_story":
            cpu / stories * 1000, "main_ms_per_story": main / stories * 1000}


def spread(values: list[float]) -> str:
    """Median and range of VALUES."""
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def spread_ratio(values: list[float], reference: list[float]) -> str:
    """Median and range of VALUES over REFERENCE, round by round."""
    ratios = [value / base for value, base in zip(values, reference, strict=True)]
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def main() -> None:
    """Run the interleaved rounds and print each figure, then medians and spreads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--cpu-rounds", type=int, default=2, help="dev-page passes per figure")
    parser.add_argument("--no-crawl", action="store_true", help="extraction CPU only")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--page-cpu", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.page_cpu:
        print(json.dumps(page_cpu(args.page_cpu, args.cpu_rounds)))
        return
    checkouts = [path.resolve() for path in args.checkouts]
    results: dict[str, dict[str, list[float]]] = {str(path): {} for path in checkouts}
    for round_number in range(1, args.rounds + 1):
        for path in checkouts:
            figures = {"cpu_ms_per_page": measure_cpu(path, args.dataset, args.cpu_rounds)}
            if not args.no_crawl:
                figures |= measure_crawl(path, args.pages)
            for key, value in figures.items():
                results[str(path)].setdefault(key, []).append(value)
            print(f"round {round_number} {path.name}: " + ", ".join(
                f"{key} {value:.1f}" for key, value in figures.items()), flush=True)
    print("\nmedian (min-max) over the rounds:")
    for path, figures in results.items():
        print(f"{Path(path).name}: " + ", ".join(
            f"{key} {spread(values)}" for key, values in figures.items()))
    first = str(checkouts[0])
    print(f"\nratio to {checkouts[0].name}, round by round, median (min-max):")
    for path in map(str, checkouts[1:]):
        print(f"{Path(path).name}: " + ", ".join(
            f"{key} {spread_ratio(values, results[first][key])}"
            for key, values in results[path].items() if key != "stories"))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"{stamp}.json").write_text(json.dumps(
        {"pages": args.pages, "rounds": args.rounds, "results": results}, indent=2),
        encoding="utf-8")


if __name__ == "__main__":
    main()
