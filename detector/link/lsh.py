"""Banded LSH over MinHash signatures: candidate pairs and their verification (numpy).

Signatures are cut into `bands` bands of `rows` values; messages whose band values are
equal in any band become candidates. Within a bucket each message is paired with the
bucket's first member and with its predecessor, so a flood of identical messages costs
linear, not quadratic, work; clustering still joins them all. Candidates are kept when
their estimated Jaccard similarity (share of equal MinHash values, as
`datasketch.MinHash.jaccard`) reaches the threshold.
"""

from __future__ import annotations

import numpy as np

BANDS = 21
ROWS = 3
THRESHOLD = 0.35
REPRESENTATIVE_THRESHOLD = 0.25  # a set joins another only when their representatives are this similar
_BAND_MULT = np.uint64(0x9E3779B97F4A7C15)


def band_keys(signatures: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> np.ndarray:
    """(n, bands) uint64 keys: the band's values hashed together, salted with the band's number."""
    n = signatures.shape[0]
    used = signatures[:, : bands * rows].astype(np.uint64).reshape(n, bands, rows)
    keys = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64), (n, bands)).copy()
    with np.errstate(over="ignore"):
        for r in range(rows):
            keys = (keys * _BAND_MULT) ^ used[:, :, r]
            keys ^= keys >> np.uint64(31)
    return keys


def candidate_pairs(keys: np.ndarray, is_new: np.ndarray) -> np.ndarray:
    """(m, 2) row-index pairs (i < j) sharing a band bucket, at least one of them new."""
    n, bands = keys.shape
    found = []
    for band in range(bands):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        same_as_prev = np.empty(n, dtype=bool)
        same_as_prev[:1] = False
        same_as_prev[1:] = sorted_keys[1:] == sorted_keys[:-1]
        run_start = np.maximum.accumulate(np.where(same_as_prev, 0, np.arange(n)))
        members = np.nonzero(same_as_prev)[0]
        for partner in (members - 1, run_start[members]):
            a, b = order[members], order[partner]
            found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & (is_new[pairs[:, 0]] | is_new[pairs[:, 1]])]
    return np.unique(pairs, axis=0)


def similar_pairs(signatures: np.ndarray, pairs: np.ndarray, threshold: float = THRESHOLD,
                  chunk: int = 1 << 18) -> np.ndarray:
    """The candidate pairs whose estimated Jaccard similarity is at least `threshold`."""
    kept = []
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        share = (signatures[part[:, 0]] == signatures[part[:, 1]]).mean(axis=1)
        kept.append(part[share >= threshold])
    return np.concatenate(kept) if kept else np.zeros((0, 2), dtype=np.int64)
