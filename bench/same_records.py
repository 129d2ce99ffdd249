"""Tell whether two checkouts extract the same records from every dev, peer and sample page.

Usage: python bench/same_records.py BEFORE AFTER [--out DIR]

BEFORE and AFTER are directories holding the project's code (`git worktree add --detach`, or
`git archive COMMIT | tar -x -C DIR`). Each runs in a process of its own with this
interpreter, its code first on PYTHONPATH, over the dev split, both shared peer suites and the
sample-site pages of AFTER: the worker's process_page (the page as the crawl sends it: UTF-8
bytes) and extract_article (the raw bytes), every field of the Article and of the language
guess. Prints the number of pages that differ and the first differences, and each
checkout's process time per page; exits 1 when any page differs. For a refactor that must
not change a record.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared" / "bench"
DEFAULT_OUT = REPO_ROOT / "bench" / "out" / "same_records"
SHOWN = 10


def pages(sites: Path) -> list[tuple[str, bytes, str]]:
    """(name, raw bytes, URL) of every dev, peer and sample-site page."""
    found = []
    dev = SHARED / "extraction" / "dev"
    truth = json.loads((dev / "ground-truth.json").read_text(encoding="utf-8"))
    for item in sorted(truth):
        raw = gzip.decompress((dev / "html" / f"{item}.html.gz").read_bytes())
        found.append((f"dev/{item}", raw, truth[item].get("url", "")))
    for suite in ("fundus", "trafilatura"):
        suite_truth = json.loads((SHARED / "peers" / suite / "truth.json").read_text("utf-8"))
        for path in sorted((SHARED / "peers" / suite / "html").glob("*.html.gz")):
            name = path.name.removesuffix(".html.gz")
            url = (suite_truth.get(name) or {}).get("url") or ""
            found.append((f"{suite}/{name}", gzip.decompress(path.read_bytes()), url))
    for path in sorted(sites.rglob("*.html")):
        name = str(path.relative_to(sites))
        found.append((f"sites/{name}", path.read_bytes(), f"https://example.org/{name}"))
    return found


def dump(sites: Path, out: Path) -> None:
    """Write {page: [process_page result, extract_article result]} (reprs) to OUT."""
    from crawler import settings
    from pipelines import work
    from pipelines.extract import extract_article

    options = work.LanguageOptions(settings.NEWS_LANGUAGE_MIN_CHARS,
                                   settings.NEWS_LANGUAGE_SAMPLE_CHARS, settings.NEWS_LANGUAGE_SEED)
    work.warm_up(options)
    found = pages(sites)
    results = {}
    start = time.process_time()
    for name, raw, url in found:
        page = raw.decode("utf-8", "replace").encode()  # the crawl hands workers valid UTF-8
        results[name] = [repr(work.process_page(page, url, options)),
                         repr(extract_article(raw, url))]
    spent = (time.process_time() - start) / len(found) * 1000
    out.write_text(json.dumps(results, indent=0, sort_keys=True), encoding="utf-8")
    print(f"{len(found)} pages, {spent:.1f} ms a page (process_page + extract_article)")


def run(checkout: Path, sites: Path, out: Path) -> dict[str, list[str]]:
    """CHECKOUT's results on every page, from a process running its code."""
    cmd = ["nice", sys.executable, str(Path(__file__).resolve()), "--dump", str(out),
           "--sites", str(sites)]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(cmd, cwd=checkout, env=env, check=True, capture_output=True, text=True)
    print(f"{checkout.name}: {done.stdout.strip()}", flush=True)
    return json.loads(out.read_text(encoding="utf-8"))


def first_difference(before: str, after: str) -> str:
    """The two texts around the first character where they differ."""
    index = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                 min(len(before), len(after)))
    window = slice(max(0, index - 80), index + 80)
    return f"    before: ...{before[window]}...\n    after:  ...{after[window]}..."


def main() -> int:
    """Run both checkouts, compare page by page; exit 1 when a page differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sites", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.sites, args.dump)
        return 0
    if len(args.checkouts) != 2:
        parser.error("give two checkouts: BEFORE AFTER")
    before_dir, after_dir = (path.resolve() for path in args.checkouts)
    args.out.mkdir(parents=True, exist_ok=True)
    sites = after_dir / "tests" / "sites"
    before = run(before_dir, sites, args.out / "before.json")
    after = run(after_dir, sites, args.out / "after.json")
    differ = [name for name in after if before.get(name) != after[name]]
    print(f"{len(after)} pages, {len(differ)} differ")
    for name in differ[:SHOWN]:
        for old, new in zip(before.get(name, ["", ""]), after[name], strict=True):
            if old != new:
                print(f"  {name}\n{first_difference(old, new)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
