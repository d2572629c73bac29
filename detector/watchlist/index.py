"""A multi-index over 256-bit PDQ hashes: every stored row within 31 bits of a query, exactly, without a scan.

Each hash is cut into 16 chunks of 16 bits. Two hashes at most 31 bits apart differ in at most 31
bits spread over 16 chunks, so (pigeonhole) some chunk differs in at most one bit: probing each
chunk's own value and its 16 one-bit neighbours finds every row within 31 bits, and some farther
ones, which the exact distance then drops. For each chunk the rows are kept sorted by that chunk's
value (`order`) with where each value's rows start (`starts`), so a probe is two array reads.
Memory: 4 bytes per row and chunk, plus 16 x 65,537 offsets. The result equals the brute-force
scan's (`hashes.nearest_hits`) hit for hit; a small index is scanned, which is faster there.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..link.photos import MAX_DISTANCE
from .hashes import Hit, nearest_hits

CHUNKS = 16
CHUNK_BITS = 16
SCAN_BELOW = 512  # rows: under this, the brute-force scan beats the probes (python bench/watchlist.py)


def probe_masks(max_distance: int) -> np.ndarray:
    """Every CHUNK_BITS-bit mask of at most max_distance // CHUNKS bits: what a chunk may differ by."""
    radius = max_distance // CHUNKS
    masks = [sum(1 << bit for bit in bits) for r in range(radius + 1) for bits in combinations(range(CHUNK_BITS), r)]
    return np.array(masks, dtype=np.int64)


def chunks_of(words: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 words as (16, n) uint16 chunk values (the same cut for stored rows and queries)."""
    return np.ascontiguousarray(words, dtype=np.uint64).view(np.uint16).T.copy()


class MultiIndex:
    """Stored hash rows ((n, 4) uint64) indexed for `hits` within `max_distance` bits."""

    def __init__(self, words: np.ndarray, max_distance: int = MAX_DISTANCE) -> None:
        self.words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, 4)
        self.max_distance = max_distance
        self.masks = probe_masks(max_distance)
        n = len(self.words)
        chunks = chunks_of(self.words)
        self.order = np.argsort(chunks, axis=1, kind="stable").astype(np.int32).ravel()  # chunk c: [c*n, (c+1)*n)
        counts = np.stack([np.bincount(chunks[c], minlength=1 << CHUNK_BITS) for c in range(CHUNKS)])
        self.starts = np.zeros((CHUNKS, (1 << CHUNK_BITS) + 1), dtype=np.int64)
        np.cumsum(counts, axis=1, out=self.starts[:, 1:])
        self.starts += np.arange(CHUNKS, dtype=np.int64)[:, None] * n  # offsets into the flat `order`

    def __len__(self) -> int:
        return len(self.words)

    def candidates(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, stored row) pairs sharing a chunk within the probe radius (repeats possible)."""
        probes = chunks_of(queries).T.astype(np.int64)[:, :, None] ^ self.masks[None, None, :]  # (q, chunks, masks)
        chunk = np.broadcast_to(np.arange(CHUNKS)[None, :, None], probes.shape)
        lo = self.starts[chunk, probes].ravel()
        count = self.starts[chunk, probes + 1].ravel() - lo
        total = int(count.sum())
        first = np.cumsum(count) - count  # where each probe's rows begin in the output
        positions = np.arange(total, dtype=np.int64) + np.repeat(lo - first, count)
        query = np.repeat(np.repeat(np.arange(len(queries)), probes.shape[1] * probes.shape[2]), count)
        return query, self.order[positions].astype(np.int64)

    def hits(self, queries: np.ndarray) -> list[Hit]:
        """For each stored row within max_distance of any query row, its nearest meeting (the lowest
        query row among equals), in stored-row order: exactly `nearest_hits(queries, words)`."""
        if len(self.words) < SCAN_BELOW:
            return nearest_hits(queries, self.words, self.max_distance)
        query, row = self.candidates(queries)
        pairs = np.take(self.words, row, axis=0)  # np.take: several times faster than words[row] here
        pairs ^= np.take(queries, query, axis=0)
        distance = np.bitwise_count(pairs).sum(axis=1, dtype=np.int32)
        near = distance <= self.max_distance
        query, row, distance = query[near], row[near], distance[near]
        ranked = np.lexsort((query, distance, row))
        firsts = ranked[np.r_[True, row[ranked][1:] != row[ranked][:-1]]] if len(ranked) else ranked
        return [Hit(int(row[i]), int(distance[i]), int(query[i])) for i in firsts]
