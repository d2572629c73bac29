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


class Buckets:
    """The band buckets of an index, kept up to date as rows are appended (never re-sorted whole).

    Per band: the distinct keys in sorted order and each bucket's first and last row. Rows are
    appended in ascending order, so a new row's partners in `candidate_pairs` are the row before
    it in its bucket (the bucket's last row, or the previous new row) and the bucket's first
    row: a batch only looks up and inserts its own keys.
    """

    def __init__(self, keys: np.ndarray) -> None:
        """Buckets of rows 0..n-1 with these (n, bands) band keys."""
        n, bands = keys.shape
        rows = np.arange(n, dtype=np.uint32)
        self.rows = n
        self.keys: list[np.ndarray] = []
        self.first: list[np.ndarray] = []
        self.last: list[np.ndarray] = []
        for band in range(bands):
            order = np.argsort(keys[:, band], kind="stable")
            sorted_keys = keys[order, band]
            starts, ends = _runs(sorted_keys)
            self.keys.append(sorted_keys[starts])
            self.first.append(rows[order[starts]])
            self.last.append(rows[order[ends]])

    def append(self, keys: np.ndarray) -> np.ndarray:
        """Add rows n..n+m-1 with these (m, bands) keys; returns `candidate_pairs`' pairs with a new row."""
        m = keys.shape[0]
        new_rows = np.arange(self.rows, self.rows + m, dtype=np.uint32)
        found = []
        for band in range(len(self.keys)):
            order = np.argsort(keys[:, band], kind="stable")
            sorted_keys, members = keys[order, band], new_rows[order]
            starts, ends = _runs(sorted_keys)
            run_of = np.repeat(np.arange(len(starts)), ends - starts + 1)
            at = np.searchsorted(self.keys[band], sorted_keys[starts])
            known = at < len(self.keys[band])
            known[known] = self.keys[band][at[known]] == sorted_keys[starts][known]
            before = np.empty(m, dtype=np.int64)  # each new row's predecessor in its bucket, or -1
            before[1:] = members[:-1]
            before[starts] = -1
            before[starts[known]] = self.last[band][at[known]]
            first = members[starts].astype(np.int64)
            first[known] = self.first[band][at[known]]
            first = first[run_of]
            for partner, kept in ((before, before >= 0), (first, first != members)):
                found.append(np.stack([partner[kept], members[kept].astype(np.int64)], axis=1))
            self.last[band][at[known]] = members[ends[known]]
            fresh = ~known
            self.keys[band] = np.insert(self.keys[band], at[fresh], sorted_keys[starts[fresh]])
            self.first[band] = np.insert(self.first[band], at[fresh], members[starts[fresh]])
            self.last[band] = np.insert(self.last[band], at[fresh], members[ends[fresh]])
        self.rows += m
        pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
        return np.unique(pairs, axis=0)


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each run of equal values in a sorted array."""
    n = len(sorted_keys)
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    ends = np.concatenate([starts[1:], [n]]) - 1
    return starts, ends
