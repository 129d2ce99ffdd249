"""LSH band keys of MinHash signatures: the indexed keys near-duplicate candidates are found by.

A signature of B x R values is cut into B bands of R values; two signatures that agree on a
whole band share that band's key. Keys are stored in story_bands (one row per band and
story), so a new story's candidates are one indexed lookup of its B keys, whatever the size
of the archive. The key covers R and the band's position, so signatures cut another way
never share a key.
"""

from __future__ import annotations

import hashlib
import struct

VALUE_BYTES = 4  # one little-endian uint32 per permutation (stories.minhash)
# The layout datasketch's MinHashLSH picks for NEWS_DEDUP_THRESHOLD=0.5 and
# NEWS_DEDUP_NUM_PERM=64 (its b and r): the one migration 0005 indexes stored stories with.
DEFAULT_BANDS = 14
DEFAULT_ROWS = 4


def band_keys(minhash: bytes, bands: int, rows: int) -> tuple[int, ...]:
    """The signed 64-bit keys of a signature's bands; empty when it is too short for them."""
    width = rows * VALUE_BYTES
    if len(minhash) < bands * width:
        return ()
    keys = (
        int.from_bytes(hashlib.blake2b(struct.pack("<HH", rows, band)
                                       + minhash[band * width:(band + 1) * width],
                                       digest_size=8).digest(), "little", signed=True)
        for band in range(bands)
    )
    return tuple(dict.fromkeys(keys))
