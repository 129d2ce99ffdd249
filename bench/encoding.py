"""Time the spider's text steps (crawler.encoding) on real pages, header agreeing or not.

Usage: python bench/encoding.py [--dataset DIR] [--rounds N]

For every page: looks_binary, then page_text with a header that agrees with the page and
with one that contradicts it (ISO-8859-1, Apache's old default, over UTF-8 pages). Prints
ms per page for each (best round of N).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from crawler.encoding import looks_binary, page_text  # noqa: E402

DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"
AGREEING = "text/html; charset=utf-8"
CONTRADICTING = "text/html; charset=iso-8859-1"


def best_ms(step: Callable[[bytes], object], pages: list[bytes], rounds: int) -> float:
    """The best round's time of STEP, in ms per page."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for body in pages:
            step(body)
        times.append(time.perf_counter() - start)
    return min(times) / len(pages) * 1000


def main() -> None:
    """Print the time per page of each text step over the dataset's pages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = [gzip.decompress(path.read_bytes())
             for path in sorted((args.dataset / "html").glob("*.html.gz"))]
    agreeing = {id(body): body.decode("utf-8", "replace") for body in pages}
    contradicting = {id(body): body.decode("latin-1") for body in pages}
    recoded = sum(page_text(body, CONTRADICTING, contradicting[id(body)])
                  != contradicting[id(body)] for body in pages)
    steps = {
        "looks_binary": looks_binary,
        "page_text, header agrees": lambda body: page_text(body, AGREEING, agreeing[id(body)]),
        "page_text, header contradicts": lambda body: page_text(
            body, CONTRADICTING, contradicting[id(body)]),
    }
    print(f"{len(pages)} pages ({recoded} recoded behind a contradicting header)")
    for name, step in steps.items():
        print(f"{name}: {best_ms(step, pages, args.rounds):.3f} ms per page")


if __name__ == "__main__":
    main()
