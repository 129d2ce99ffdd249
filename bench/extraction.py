"""Benchmark extract_article against trafilatura and readability-lxml on a shared dataset.

Usage: python bench/extraction.py [--dataset DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import lxml.html
import trafilatura
from readability import Document

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from pipelines import authors, metadata  # noqa: E402
from pipelines.extract import extract_article, parse_page  # noqa: E402
from tests.sites.server import render  # noqa: E402

SAMPLE_SITES = REPO_ROOT / "tests" / "sites"

DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"
DEFAULT_OUT = REPO_ROOT / "bench" / "out" / "extraction"
BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote",
              "tr", "br", "section", "article", "table", "ul", "ol", "figure")
HUGE_PAGE_BYTES = 10_000_000
WARM_UP_PAGES = 5
logger = logging.getLogger("bench.extraction")

Extractor = Callable[[str, str], str]


def load_scorer(dataset: Path) -> ModuleType:
    """Import the shared scorer (score.py beside the dataset directory) by path."""
    path = dataset.parent / "score.py"
    spec = importlib.util.spec_from_file_location("extraction_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"scorer not found: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_pages(dataset: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return ({id: html}, {id: url}) for every page of the dataset."""
    truth = json.loads((dataset / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for item_id in sorted(truth):
        with gzip.open(dataset / "html" / f"{item_id}.html.gz", "rb") as handle:
            pages[item_id] = handle.read().decode("utf-8", errors="replace")
    return pages, {item_id: value.get("url", "") for item_id, value in truth.items()}


def readability_text(html: str, url: str) -> str:
    """Readability's summary as plain text with paragraph breaks."""
    summary = Document(html, url=url).summary(html_partial=True)
    tree = lxml.html.fromstring(summary)
    for element in tree.iter(*BLOCK_TAGS):
        element.tail = "\n\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in tree.text_content().split("\n\n"))
    return "\n\n".join(line for line in lines if line)


def ours_text(html: str, url: str) -> str:
    """Body text from extract_article."""
    article = extract_article(html, url)
    return article.text if article else ""


EXTRACTORS: dict[str, Extractor] = {
    "newsagg extract_article": ours_text,
    "trafilatura favor_precision": lambda html, url: trafilatura.extract(
        html, url=url, include_comments=False, favor_precision=True) or "",
    "trafilatura defaults, no comments": lambda html, url: trafilatura.extract(
        html, url=url, include_comments=False) or "",
    "readability-lxml": readability_text,
}


def run_extractors(extractors: dict[str, Extractor], pages: dict[str, str],
                   urls: dict[str, str]) -> dict[str, tuple[dict[str, str], float]]:
    """Run every extractor page by page, interleaved so machine load hits all alike.

    Returns {name: (predictions, pages per second)}.
    """
    for extract in extractors.values():
        for item_id in list(pages)[:WARM_UP_PAGES]:
            extract(pages[item_id], urls[item_id])
    predictions: dict[str, dict[str, str]] = {name: {} for name in extractors}
    seconds = dict.fromkeys(extractors, 0.0)
    for item_id, html in pages.items():
        for name, extract in extractors.items():
            start = time.perf_counter()
            try:
                predictions[name][item_id] = extract(html, urls[item_id])
            except Exception as error:  # a baseline failing on a page scores it as empty
                logger.warning("%s failed on %s: %s", name, item_id, error)
                predictions[name][item_id] = ""
            seconds[name] += time.perf_counter() - start
    return {name: (predictions[name], len(pages) / seconds[name]) for name in extractors}


def page_metadata_truth(html: str) -> dict[str, Any]:
    """What the page's own JSON-LD or meta tags say about title, authors and date."""
    tree = parse_page(html)
    if tree is None:
        return {}
    article_ld = metadata.find_article_ld(metadata.iter_json_ld(tree)) or {}
    metas = metadata.meta_tags(tree)
    title = article_ld.get("headline") or metadata.meta_value(metas, "og:title")
    names = metadata.ld_name(article_ld.get("author")) or authors.markup_authors(tree, metas)
    date = article_ld.get("datePublished") or metadata.meta_value(
        metas, *metadata.DATE_META_KEYS)
    parsed = metadata.parse_datetime(date) if isinstance(date, str) else None
    return {"title": title, "authors": names, "published_at": parsed}


def agrees(key: str, ours: Any, declared: Any) -> bool:
    """Tell whether our value for KEY agrees with the page's declared value."""
    if not ours:
        return False
    if key == "authors":
        wanted = " | ".join(declared).casefold()
        return all(name.casefold() in wanted for name in ours)
    if key == "title":
        return " ".join(str(declared).split()).startswith(ours[:40])
    return bool(ours == declared)


def metadata_report(pages: dict[str, str], urls: dict[str, str]) -> list[str]:
    """Fill rates of our fields and agreement with the page's declared values."""
    counts = {key: [0, 0, 0] for key in ("title", "authors", "published_at")}
    for item_id, html in pages.items():
        article = extract_article(html, urls[item_id])
        declared = page_metadata_truth(html)
        for key, tally in counts.items():
            ours = getattr(article, key) if article else None
            tally[0] += bool(ours)
            if declared.get(key):
                tally[1] += 1
                tally[2] += agrees(key, ours, declared[key])
    total = len(pages)
    lines = ["| field | filled | declared by page | agrees with declared |", "|---|---|---|---|"]
    for key, (filled, declared_n, agree) in counts.items():
        lines.append(f"| {key} | {filled}/{total} | {declared_n}/{total} | {agree}/{declared_n} |")
    return lines


def sample_article_pages() -> tuple[dict[str, str], dict[str, str]]:
    """The article pages of the bundled sample universe, with made-up host URLs."""
    hosts = {d.name: f"http://{d.name}.example" for d in SAMPLE_SITES.iterdir() if d.is_dir()}
    pages, urls = {}, {}
    for path in sorted(SAMPLE_SITES.rglob("*.html")):
        html = render(path.read_text(encoding="utf-8"), hosts)
        if 'property="og:type" content="article"' not in html:
            continue
        site, *rest = path.relative_to(SAMPLE_SITES).parts
        key = "/".join((site, *rest))
        pages[key], urls[key] = html, f"{hosts[site]}/{'/'.join(rest)}"
    return pages, urls


def huge_page_seconds() -> float:
    """Seconds extract_article takes on a 10 MB page made of one tag."""
    html = "<div>" + "<p>word " * (HUGE_PAGE_BYTES // 8)
    start = time.perf_counter()
    extract_article(html, "https://example.org/huge")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", help="run only extractors whose name contains this")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    scorer = load_scorer(args.dataset)
    truth = scorer.load_ground_truth(args.dataset / "ground-truth.json")
    pages, urls = load_pages(args.dataset)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    selected = {
        name: extract for name, extract in EXTRACTORS.items()
        if not args.only or args.only in name or name == "newsagg extract_article"
    }
    for name, (predictions, speed) in run_extractors(selected, pages, urls).items():
        rows = scorer.score_items(truth, predictions)
        summary = scorer.summarize(rows)
        results[name] = (summary, speed)
        slug = name.split()[0] + ("-" + "-".join(name.split()[1:]) if " " in name else "")
        (args.out / f"{slug.replace(',', '')}.json").write_text(
            json.dumps({"summary": summary, "items": rows,
                        "predictions": {k: {"articleBody": v} for k, v in predictions.items()}},
                       ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    ours, our_speed = results["newsagg extract_article"]
    print(f"dataset: {args.dataset} ({len(pages)} pages)\n")
    print("| extractor | P | R | F1 | acc | pages/s | ΔF1 vs ours | speed ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (summary, speed) in results.items():
        print(f"| {name} | {summary['precision']:.3f} | {summary['recall']:.3f} "
              f"| {summary['f1']:.3f} | {summary['accuracy']:.3f} | {speed:.1f} "
              f"| {ours['f1'] - summary['f1']:+.3f} | {speed / our_speed:.2f}x |")
    print("\nmetadata on dev pages (agreement with the page's own JSON-LD/meta values):")
    print("\n".join(metadata_report(pages, urls)))
    sample_pages, sample_urls = sample_article_pages()
    print(f"\nmetadata on the sample universe's {len(sample_pages)} article pages:")
    print("\n".join(metadata_report(sample_pages, sample_urls)))
    print(f"\n10 MB single-tag page: {huge_page_seconds():.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
