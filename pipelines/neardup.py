"""Near-duplicate detection: MinHash signatures of word shingles and an LSH index over them."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

MAX_HASH = np.uint64((1 << 32) - 1)
HIGH_BITS = np.uint64(32)
SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
SEED = 1
SIGNATURE_DTYPE = np.dtype("<u4")


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


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The Jaccard similarity the two signatures estimate."""
    if first.shape != second.shape:
        return 0.0
    return float(np.count_nonzero(first == second)) / len(first)


class NearDuplicateIndex:
    """Stored stories' signatures in a MinHashLSH; finds the most similar one above a threshold."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.signatures: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self.signatures)

    def _minhash(self, sig: np.ndarray) -> LeanMinHash:
        """The datasketch view of a signature."""
        return LeanMinHash(seed=SEED, hashvalues=sig.astype(np.uint64), scheme="affine32")

    def load(self, rows: Iterable[tuple[int, bytes]]) -> tuple[int, int]:
        """Add stored (story id, signature) rows in bulk; returns (added, skipped: wrong size)."""
        added = skipped = 0
        size = self.num_perm * SIGNATURE_DTYPE.itemsize
        with self.lsh.insertion_session() as session:
            for story_id, data in rows:
                if len(data) != size or story_id in self.signatures:
                    skipped += 1
                    continue
                session.insert(story_id, self._minhash(from_bytes(data)),
                               check_duplication=False)
                self.signatures[story_id] = data
                added += 1
        return added, skipped

    def put(self, story_id: int, sig: np.ndarray) -> None:
        """Index a story's signature, replacing the one it had."""
        if story_id in self.signatures:
            self.lsh.remove(story_id)
        self.lsh.insert(story_id, self._minhash(sig), check_duplication=False)
        self.signatures[story_id] = to_bytes(sig)

    def remove(self, key: int) -> None:
        """Forget an indexed signature."""
        self.lsh.remove(key)
        del self.signatures[key]

    def best_match(self, sig: np.ndarray) -> tuple[int, float] | None:
        """The most similar indexed story at or above the threshold (lowest id on ties)."""
        best: tuple[int, float] | None = None
        for story_id in sorted(self.lsh.query(self._minhash(sig))):
            score = similarity(sig, from_bytes(self.signatures[story_id]))
            if score >= self.threshold and (best is None or score > best[1]):
                best = (story_id, score)
        return best
