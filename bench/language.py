"""Time the language stage (detect_language) on the bodies extracted from real pages.

Usage: python bench/language.py [--dataset DIR] [--rounds N] [--codes FILE]

Prints ms per page (best round of N), and writes each page's (code, probability) to FILE
when given, so that two versions of the stage can be compared page by page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from crawler import settings  # noqa: E402
from pipelines.extract import extract_article  # noqa: E402
from pipelines.language import detect_language  # noqa: E402

DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"


def bodies(dataset: Path) -> dict[str, tuple[str, str | None]]:
    """{page id: (article text, declared language)} for every page holding an article."""
    found = {}
    for path in sorted((dataset / "html").glob("*.html.gz")):
        article = extract_article(gzip.decompress(path.read_bytes()), "https://example.org/")
        if article is not None:
            found[path.name.removesuffix(".html.gz")] = (article.text, article.language)
    return found


def main() -> None:
    """Run the language stage over the dataset's bodies and print its time per page."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--codes", type=Path)
    args = parser.parse_args()
    texts = bodies(args.dataset)

    def run() -> dict[str, tuple[str | None, float | None]]:
        return {page: (guess.code, guess.probability) for page, guess in (
            (page, detect_language(text, declared,
                                   min_letters=settings.NEWS_LANGUAGE_MIN_CHARS,
                                   sample_chars=settings.NEWS_LANGUAGE_SAMPLE_CHARS,
                                   seed=settings.NEWS_LANGUAGE_SEED))
            for page, (text, declared) in texts.items())}

    first = run()  # loads the profiles
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        assert run() == first, "the same text gave another answer"
        times.append(time.perf_counter() - start)
    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"{len(texts)} pages, language stage {best / len(texts) * 1000:.3f} ms per page "
          f"(best of {args.rounds}; median {median / len(texts) * 1000:.3f})")
    if args.codes:
        args.codes.write_text(json.dumps(first, indent=1, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
