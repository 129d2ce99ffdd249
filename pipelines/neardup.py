"""Near-duplicate detection: MinHash signatures of word shingles and an LSH index over them."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

from storage.bands import DEFAULT_BANDS, DEFAULT_ROWS, band_keys

MAX_HASH = np.uint64((1 << 32) - 1)
HIGH_BITS = np.uint64(32)
SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
SEED = 1
SIGNATURE_DTYPE = np.dtype("<u4")
# The shipped threshold and permutations (NEWS_DEDUP_THRESHOLD, NEWS_DEDUP_NUM_PERM), whose
# LSH layout storage.bands records: a crawl at the defaults does not import datasketch, and
# through it scipy's integrators (about 0.9 s of CPU at every start), to compute it again.
# tests/test_pipelines_neardup.py checks the recorded layout against datasketch's choice.
DEFAULT_LAYOUT_KEY = (0.5, 64)


def permutations(num_perm: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The (odd a, b) coefficients of the multiply-shift hash functions, one per permutation."""
    gen = np.random.RandomState(seed)
    a = gen.randint(1, 1 << 63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = gen.randint(0, 1 << 63, size=num_perm, dtype=np.uint64)
    return a, b


def shingle_hashes(words: list[str], size: int) -> np.ndarray:
    """32-bit hashes of the text's word shingles of `size` words (one if it is shorter).

    Repeats are kept: they cannot change a MinHash minimum, and sorting them out costs more.
    """
    if not words:
        return np.empty(0, dtype=np.uint64)
    word_hashes = np.fromiter(map(zlib.crc32, map(str.encode, words)),
                              dtype=np.uint64, count=len(words))
    width = min(size, len(words))
    count = len(words) - width + 1
    combined = word_hashes[:count].copy()
    with np.errstate(over="ignore"):
        for offset in range(1, width):
            combined = combined * SHINGLE_MULTIPLIER + word_hashes[offset:offset + count]
    return (combined >> np.uint64(32)) ^ (combined & MAX_HASH)


def signature(words: list[str], size: int, coefficients: tuple[np.ndarray, np.ndarray]
              ) -> np.ndarray | None:
    """The MinHash signature (uint32 per permutation) of a text's word shingles; None if empty."""
    hashes = shingle_hashes(words, size)
    if not hashes.size:
        return None
    a, b = coefficients
    with np.errstate(over="ignore"):
        permuted = np.multiply.outer(hashes, a)
        permuted += b
    # The shift is monotonic: the minimum's high bits are the minimum of the high bits.
    return (permuted.min(axis=0) >> HIGH_BITS).astype(SIGNATURE_DTYPE)


def to_bytes(sig: np.ndarray) -> bytes:
    """A signature as stored in stories.minhash (little-endian uint32)."""
    return sig.astype(SIGNATURE_DTYPE).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """A stored signature back as an array."""
    return np.frombuffer(data, dtype=SIGNATURE_DTYPE)


def lsh_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """The bands and rows per band datasketch's MinHashLSH chooses for the threshold and
    permutations (the shipped ones' recorded layout without importing datasketch)."""
    if (threshold, num_perm) == DEFAULT_LAYOUT_KEY:
        return DEFAULT_BANDS, DEFAULT_ROWS
    from datasketch import MinHashLSH

    layout = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return layout.b, layout.r


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The Jaccard similarity the two signatures estimate."""
    if first.shape != second.shape:
        return 0.0
    return float(np.count_nonzero(first == second)) / len(first)


class NearDuplicateFinder:
    """The stored story most similar to a signature, found through its LSH band keys.

    The bands and rows per band are datasketch's MinHashLSH choice for the threshold and
    permutations; the keys are looked up in story_bands (storage/bands.py), so nothing
    of the archive is held in memory.
    """

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_layout(threshold, num_perm)

    def band_keys(self, sig: np.ndarray) -> tuple[int, ...]:
        """The signature's band keys, as stored in story_bands."""
        return band_keys(to_bytes(sig), self.bands, self.rows)

    def best_match(self, sig: np.ndarray, candidates: Iterable[tuple[int, bytes]]
                   ) -> tuple[int, float] | None:
        """The most similar candidate (story id, signature) at or above the threshold (lowest
        id on ties)."""
        best: tuple[int, float] | None = None
        for story_id, data in sorted(candidates):
            score = similarity(sig, from_bytes(data))
            if score >= self.threshold and (best is None or score > best[1]):
                best = (story_id, score)
        return best
