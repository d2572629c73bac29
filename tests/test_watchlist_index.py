"""The watchlist multi-index finds exactly what the brute-force scan finds (pure numpy, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from detector.link.photos import MAX_DISTANCE
from detector.watchlist.hashes import nearest_hits
from detector.watchlist.index import CHUNK_BITS, CHUNKS, SCAN_BELOW, MultiIndex, probe_masks


def _flip(word_row: np.ndarray, bits: list[int]) -> np.ndarray:
    out = word_row.copy()
    for bit in bits:
        out[bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return out


def _spread(distance: int, rng: np.random.Generator) -> list[int]:
    """`distance` bit positions spread over the chunks as evenly as they go (no chunk left whole while
    another takes two): the pigeonhole's worst case."""
    chunks = rng.permutation(CHUNKS)
    per_chunk = [distance // CHUNKS + (i < distance % CHUNKS) for i in range(CHUNKS)]
    bits = []
    for chunk, count in zip(chunks, per_chunk):
        bits += [int(chunk) * CHUNK_BITS + int(b) for b in rng.choice(CHUNK_BITS, size=count, replace=False)]
    return bits


def _queries_and_stored(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """64 queries (a photo's 8 crops x 8 orientations) and `rows` stored hashes, of which many lie at every
    distance 0..40 from some query, half of them with the flipped bits spread evenly over the chunks."""
    rng = np.random.default_rng(seed)
    stored = rng.integers(0, 2**64, size=(rows, 4), dtype=np.uint64)
    queries = rng.integers(0, 2**64, size=(64, 4), dtype=np.uint64)
    for i, row in enumerate(rng.choice(rows, size=41 * 6, replace=False)):
        distance, query = i % 41, int(rng.integers(64))
        bits = _spread(distance, rng) if i % 2 else [int(b) for b in rng.choice(256, size=distance, replace=False)]
        stored[row] = _flip(queries[query], bits)
    stored[-3:] = queries[5]  # the same hash three times: each row is its own hit
    return queries, stored


def test_the_probe_radius_follows_the_pigeonhole():
    assert MAX_DISTANCE // CHUNKS == 1 and len(probe_masks(MAX_DISTANCE)) == 1 + CHUNK_BITS
    assert len(probe_masks(15)) == 1 and len(probe_masks(47)) == 1 + CHUNK_BITS + CHUNK_BITS * (CHUNK_BITS - 1) // 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_index_equals_the_scan_hit_for_hit(seed):
    queries, stored = _queries_and_stored(seed, 6000)
    index = MultiIndex(stored)
    found = index.hits(queries)
    assert found == nearest_hits(queries, stored, MAX_DISTANCE)
    distances = sorted(hit.distance for hit in found)
    assert set(range(MAX_DISTANCE + 1)) <= set(distances) and max(distances) == MAX_DISTANCE
    assert len(index.candidates(queries)[1]) < 64 * len(stored) / 20  # it probes, it does not scan


def test_every_radius_and_the_small_list_scan_agree():
    queries, stored = _queries_and_stored(7, 3000)
    for radius in (0, 8, 15, 16, 31, 40):
        assert MultiIndex(stored, radius).hits(queries) == nearest_hits(queries, stored, radius), radius
    few = stored[:SCAN_BELOW - 1]
    assert MultiIndex(few).hits(queries) == nearest_hits(queries, few, MAX_DISTANCE)
    assert MultiIndex(np.zeros((0, 4), dtype=np.uint64)).hits(queries) == []


def test_crowded_buckets_stay_exact():
    """Low-entropy hashes (most chunks equal) put thousands of rows in one bucket."""
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**64, size=(1, 4), dtype=np.uint64)
    stored = np.repeat(base, 4000, axis=0)
    for row in range(len(stored)):
        stored[row] = _flip(stored[row], [int(b) for b in rng.choice(256, size=int(rng.integers(0, 60)), replace=False)])
    queries = np.vstack([base, _flip(base[0], list(range(0, 256, 9)))[None, :]])
    assert MultiIndex(stored).hits(queries) == nearest_hits(queries, stored, MAX_DISTANCE)
