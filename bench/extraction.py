"""Benchmark extract_article against trafilatura and readability-lxml on the shared datasets.

Usage: python bench/extraction.py [--dataset DIR] [--peers DIR] [--peers-reuse RUN] [--out DIR]

Prints, for the dev split: body P/R/F1 and accuracy beside trafilatura (favor_precision and
defaults) and readability-lxml, metadata agreement with the page's declarations; for each
shared peer suite (the peers' own scorer, run in a subprocess beside the same baselines):
body P/R/F1, title/authors/date accuracy; and the page-kind classifier's article/non-article
precision and recall over every labelled page (dev and peer pages are articles, golden
fixture pages say so in their JSON, sample-site pages by their og:type).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from html import unescape
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
AMP_HTML = re.compile(r"<html[^>]*\s(?:amp|⚡)[\s>=]", re.IGNORECASE)

DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"
DEFAULT_OUT = REPO_ROOT / "bench" / "out" / "extraction"
DEFAULT_PEERS = REPO_ROOT.parent / "shared" / "bench" / "peers"
GOLDEN_PAGES = REPO_ROOT / "tests" / "fixtures" / "pages"
PEER_SUITES = ("fundus", "trafilatura")
PEER_TABLE_STARTS = ("===", "body token", "pooled snippet", "metadata accuracy")
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
    title = unescape(title) if isinstance(title, str) else title  # "&#8216;" is "‘"
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


def sample_site_kinds() -> list[tuple[str, bool, str, str]]:
    """(key, is article, html, url) for every sample-site page; articles declare og:type, and
    an AMP page (`<html amp>`, declaring nothing) is its article's copy."""
    hosts = {d.name: f"http://{d.name}.example" for d in SAMPLE_SITES.iterdir() if d.is_dir()}
    labelled = []
    for path in sorted(SAMPLE_SITES.rglob("*.html")):
        html = render(path.read_text(encoding="utf-8"), hosts)
        site, *rest = path.relative_to(SAMPLE_SITES).parts
        labelled.append((f"sites/{site}/{'/'.join(rest)}",
                         'property="og:type" content="article"' in html
                         or AMP_HTML.search(html) is not None, html,
                         f"{hosts[site]}/{'/'.join(rest)}"))
    return labelled


def golden_kinds() -> list[tuple[str, bool, str, str]]:
    """(key, is article, html, url) for every golden fixture page, as its JSON says."""
    labelled = []
    for path in sorted(GOLDEN_PAGES.glob("*/*.html")):
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        labelled.append((f"golden/{path.parent.name}/{path.stem}", expected.get("article", True),
                         path.read_text(encoding="utf-8"), expected["url"]))
    return labelled


def kind_counts(results: list[tuple[bool, bool]]) -> str:
    """Article and non-article precision/recall over (truth, predicted article) pairs."""
    tp = sum(truth and found for truth, found in results)
    fp = sum(found and not truth for truth, found in results)
    fn = sum(truth and not found for truth, found in results)
    tn = sum(not truth and not found for truth, found in results)

    def ratio(num: int, den: int) -> str:
        return f"{num / den:.3f}" if den else "n/a"

    return (f"{len(results)} | {tp + fn} | {tn + fp} | {ratio(tp, tp + fp)} | {ratio(tp, tp + fn)}"
            f" | {ratio(tn, tn + fn)} | {ratio(tn, tn + fp)}")


def kind_report(pages: dict[str, str], urls: dict[str, str], peer_run: Path | None) -> list[str]:
    """The page-kind classifier's precision and recall, per set of labelled pages."""
    rows = {"dev split (all articles)": [(True, extract_article(html, urls[key]) is not None)
                                         for key, html in pages.items()]}
    for name, labelled in (("golden fixture pages", golden_kinds()),
                           ("sample-site pages", sample_site_kinds())):
        found = [extract_article(html, url) is not None for _, _, html, url in labelled]
        wrong = [key for (key, truth, _, _), is_found in zip(labelled, found, strict=True)
                 if truth != is_found]
        label = f"{name} (wrong: {', '.join(wrong)})" if wrong else name
        rows[label] = [(truth, is_found)
                       for (_, truth, _, _), is_found in zip(labelled, found, strict=True)]
    for suite in PEER_SUITES if peer_run else ():
        outputs = json.loads((peer_run / f"{suite}.json").read_text(encoding="utf-8"))
        rows[f"peers/{suite} (all articles)"] = [
            (True, not output["project"].get("none")) for output in outputs.values()]
    lines = ["| pages | n | articles | non-articles | article P | article R | non-article P "
             "| non-article R |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {kind_counts(results)} |" for name, results in rows.items()]
    lines.append(f"| all | {kind_counts([r for results in rows.values() for r in results])} |")
    return lines


def peer_tables(peers: Path, out: Path, reuse: Path | None) -> tuple[list[str], Path]:
    """Run (or rescore) the peers' own scorer; return its summary tables and its run folder."""
    run = reuse or out / "peers"
    command = [sys.executable, str(peers / "score.py"), "--data", str(peers)]
    command += ["--reuse", str(reuse)] if reuse else [
        "--python", sys.executable, "--jobs", "1", "--out", str(run)]
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT).stdout
    kept, keeping = [], False
    for line in output.splitlines():
        if line.startswith(PEER_TABLE_STARTS):
            keeping = True
        elif not line.startswith("|"):
            keeping = False
        if keeping:
            kept.append(line)
    return kept, run


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
    parser.add_argument("--peers", type=Path, default=DEFAULT_PEERS,
                        help="the shared peer suites (score.py, fundus/, trafilatura/)")
    parser.add_argument("--peers-reuse", type=Path,
                        help="rescore a saved peer run (score.py --out) instead of running it")
    parser.add_argument("--no-peers", action="store_true", help="leave the peer suites out")
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
    peer_run = None
    if not args.no_peers:
        tables, peer_run = peer_tables(args.peers, args.out, args.peers_reuse)
        print("\npeer suites (the peers' scorer; project = extract_article):")
        print("\n".join(tables))
    print("\npage kinds (extract_article returns an Article = article):")
    print("\n".join(kind_report(pages, urls, peer_run)))
    print(f"\n10 MB single-tag page: {huge_page_seconds():.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
