"""Near-duplicate detection benchmark: precision/recall per edit kind, throughput.

Run from the repository root (never from the test suite):

    .venv/bin/python bench/dedup.py                      # 100,000 stories, the default settings
    .venv/bin/python bench/dedup.py --stories 20000 --threshold 0.6 --shingle 4

A synthetic corpus is drawn from the word frequencies of the extraction benchmark's article
bodies (../shared/bench/extraction/dev): 89% distinct stories (5% of them carry one of a few
shared boilerplate paragraphs), 10% near-duplicates of an earlier story (1%, 5% or 15% of
words replaced, paragraphs reordered, promo lines added plus a sentence trimmed) and 1%
exact duplicates. Each story goes through what the dedup and store stages do (normalize,
signature, body-hash lookup, band-key lookup with similarity check, band keys kept); a match
is correct when it names the story the copy was made from. The band keys are kept in a dict
here, in story_bands by the store (bench/archive.py times that lookup in a real database).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler import settings as defaults  # noqa: E402
from pipelines.dedup import normalize_body  # noqa: E402
from pipelines.neardup import (  # noqa: E402
    NearDuplicateFinder,
    permutations,
    signature,
    to_bytes,
)

SEEDS = ROOT.parent / "shared" / "bench" / "extraction" / "dev" / "ground-truth.json"
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
PROMOS = (
    "Sign up for our free morning newsletter and get the day's top stories in your inbox.",
    "Follow us on social media for breaking news, videos and live updates.",
    "Download our app to read this story and more on the go.",
)
KINDS = ("edit1", "edit5", "edit15", "reorder", "promo", "exact")
EDIT_RATES = {"edit1": 0.01, "edit5": 0.05, "edit15": 0.15}


@dataclass
class Corpus:
    """Stories in crawl order and, for copies, the index of the story they copy and their kind."""

    texts: list[str]
    source: list[int]
    kind: list[str]


def vocabulary() -> tuple[np.ndarray, np.ndarray]:
    """Words of the seed bodies and their relative frequencies."""
    bodies = [v["articleBody"] for v in json.loads(SEEDS.read_text(encoding="utf-8")).values()]
    counts = Counter(w.lower() for body in bodies for w in WORD.findall(body))
    words = np.array(sorted(counts))
    freq = np.array([counts[w] for w in words], dtype=float)
    return words, freq / freq.sum()


class Writer:
    """Draws sentences and paragraphs from the vocabulary."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        words, p = vocabulary()
        self.words: list[str] = words.tolist()
        self.cdf = np.cumsum(p)

    def draw(self, count: int) -> list[str]:
        """Words drawn by their frequency in the seed bodies."""
        idx = np.searchsorted(self.cdf, self.rng.random(count) * self.cdf[-1])
        return [self.words[i] for i in idx.tolist()]

    def sentence(self) -> str:
        """One sentence of 8-24 words."""
        text = " ".join(self.draw(int(self.rng.integers(8, 25))))
        return text[0].upper() + text[1:] + "."

    def paragraphs(self) -> list[str]:
        """An article body: 4-8 paragraphs of 2-5 sentences."""
        return [" ".join(self.sentence() for _ in range(int(self.rng.integers(2, 6))))
                for _ in range(int(self.rng.integers(4, 9)))]


def near_copy(paragraphs: list[str], kind: str, writer: Writer) -> list[str]:
    """A copy of a story with one kind of edit."""
    rng = writer.rng
    if kind in EDIT_RATES:
        words = "\n".join(paragraphs).split(" ")
        count = max(1, round(len(words) * EDIT_RATES[kind]))
        for i, word in zip(rng.choice(len(words), size=count, replace=False).tolist(),
                           writer.draw(count), strict=True):
            words[i] = word
        return " ".join(words).split("\n")
    if kind == "reorder":
        return [paragraphs[i] for i in rng.permutation(len(paragraphs))]
    if kind == "promo":
        trimmed = paragraphs[:-1] + [paragraphs[-1].rsplit(". ", 1)[0] + "."]
        return [PROMOS[int(rng.integers(len(PROMOS)))], *trimmed, PROMOS[0]]
    return list(paragraphs)


def make_corpus(total: int, seed: int) -> Corpus:
    """The synthetic corpus in crawl order: every copy comes after the story it copies."""
    rng = np.random.default_rng(seed)
    writer = Writer(rng)
    originals = total - total // 10 - total // 100
    boilerplate = [writer.paragraphs()[0] + " " + writer.sentence() for _ in range(5)]
    bodies = []
    for _ in range(originals):
        body = writer.paragraphs()
        if rng.random() < 0.05:
            body.insert(len(body) // 2, boilerplate[int(rng.integers(len(boilerplate)))])
        bodies.append(body)
    order: list[tuple[float, str, int, str]] = [
        (float(i), "\n\n".join(b), -1, "original") for i, b in enumerate(bodies)
    ]
    copies = [(k, total // 50) for k in KINDS[:-1]] + [("exact", total // 100)]
    for kind, count in copies:
        for src in rng.choice(originals, size=count, replace=False):
            text = "\n\n".join(near_copy(bodies[src], kind, writer))
            order.append((src + 0.5 + rng.random() * (originals - src), text, int(src), kind))
    order.sort(key=lambda entry: entry[0])
    position = {int(key): i for i, (key, _t, src, _k) in enumerate(order) if src < 0}
    return Corpus(texts=[t for _key, t, _s, _k in order],
                  source=[position[s] if s >= 0 else -1 for _key, _t, s, _k in order],
                  kind=[k for _key, _t, _s, k in order])


def run(corpus: Corpus, threshold: float, shingle: int, num_perm: int
        ) -> tuple[list[int], list[bytes], float, float]:
    """Dedup every story in order: each one's match (-1: new story), signatures, wall, CPU s."""
    coefficients = permutations(num_perm)
    finder = NearDuplicateFinder(threshold, num_perm)
    bands: dict[int, list[int]] = {}
    by_hash: dict[str, int] = {}
    matches: list[int] = []
    signatures: list[bytes] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i, text in enumerate(corpus.texts):
        normalized = normalize_body(text)
        digest = hashlib.sha256(normalized.encode("utf-8")).hexdigest()
        sig = signature(normalized.split(), shingle, coefficients)
        assert sig is not None
        signatures.append(to_bytes(sig))
        match = by_hash.get(digest)
        keys = finder.band_keys(sig)
        if match is None:
            candidates = {story for key in keys for story in bands.get(key, ())}
            best = finder.best_match(sig, [(story, signatures[story]) for story in candidates])
            match = best[0] if best else None
        if match is None:
            by_hash[digest] = i
            for key in keys:
                bands.setdefault(key, []).append(i)
        matches.append(-1 if match is None else match)
    return (matches, signatures, time.perf_counter() - started,
            time.process_time() - cpu_started)


def report(corpus: Corpus, matches: list[int]) -> None:
    """Precision and recall per kind of copy, and overall."""
    print(f"{'kind':10} {'stories':>8} {'recall':>8} {'precision':>10}")
    wrong_total = found_total = 0
    for kind in ("original", *KINDS):
        rows = [(s, m) for s, m, k in zip(corpus.source, matches, corpus.kind, strict=True)
                if k == kind]
        flagged = [(s, m) for s, m in rows if m >= 0]
        correct = sum(1 for s, m in flagged if m == s)
        found_total += len(flagged)
        wrong_total += len(flagged) - correct
        if kind == "original":
            print(f"{kind:10} {len(rows):>8} {'-':>8} {'-':>10}  (wrongly merged: {len(flagged)})")
            continue
        precision = correct / len(flagged) if flagged else 1.0
        print(f"{kind:10} {len(rows):>8} {correct / len(rows):>8.4f} {precision:>10.4f}")
    print(f"overall precision (all merges): {1 - wrong_total / max(found_total, 1):.4f}")


def main() -> None:
    """Build the corpus, run the dedup stage over it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--threshold", type=float, default=defaults.NEWS_DEDUP_THRESHOLD)
    parser.add_argument("--shingle", type=int, default=defaults.NEWS_DEDUP_SHINGLE_SIZE)
    parser.add_argument("--num-perm", type=int, default=defaults.NEWS_DEDUP_NUM_PERM)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    corpus = make_corpus(args.stories, args.seed)
    words = sum(len(t.split()) for t in corpus.texts) / len(corpus.texts)
    print(f"corpus: {len(corpus.texts)} stories, {words:.0f} words on average, "
          f"built in {time.perf_counter() - started:.1f} s")
    print(f"settings: threshold {args.threshold}, shingle {args.shingle} words, "
          f"{args.num_perm} permutations")
    matches, signatures, elapsed, cpu = run(corpus, args.threshold, args.shingle, args.num_perm)
    report(corpus, matches)
    print(f"throughput: {len(corpus.texts) / cpu:.0f} stories per CPU second on one core "
          f"({cpu:.1f} CPU s; {len(corpus.texts) / elapsed:.0f} stories/s wall clock)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (whole process, corpus included): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
