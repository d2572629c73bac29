"""Held-out splits of labelled messages that never cut a near-duplicate cluster in two.

Groups come from the linking clusters stored in the database and, for messages the
linker has not seen, from MinHash groups computed on the fly (`minhash_groups`); the
two are joined, so a cluster and its unlinked reposts land on one side together.
A group goes to test by a hash of its smallest message id (stable as labels grow), or,
with `by_time`, the newest groups (by their first message) are the test side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..link import lsh
from ..link.sketch import Sketcher

TEST_FRACTION = 0.2
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def minhash_edges(texts: Sequence[str]) -> np.ndarray:
    """(m, 2) index pairs of near-duplicate texts (the linker's MinHash/LSH settings)."""
    sketcher = Sketcher()
    rows, signatures = [], []
    for index, text in enumerate(texts):
        sketch = sketcher.sketch(text)
        if sketch.signature is not None:
            rows.append(index)
            signatures.append(sketch.signature)
    if len(rows) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    matrix = np.vstack(signatures)
    keys = lsh.band_keys(matrix)
    pairs = lsh.similar_pairs(matrix, lsh.candidate_pairs(keys, np.ones(len(rows), dtype=bool)))
    return np.asarray(rows, dtype=np.int64)[pairs] if len(pairs) else np.zeros((0, 2), dtype=np.int64)


def group_ids(message_ids: Sequence[int], texts: Sequence[str], clusters: Mapping[int, int]) -> np.ndarray:
    """A group number per message: stored clusters joined with on-the-fly MinHash groups."""
    n = len(message_ids)
    if not n:
        return np.zeros(0, dtype=np.int64)
    edges = [minhash_edges(texts)]
    first_of_cluster: dict[int, int] = {}
    for index, message_id in enumerate(message_ids):
        cluster = clusters.get(message_id)
        if cluster is not None:
            edges.append(np.array([[first_of_cluster.setdefault(cluster, index), index]], dtype=np.int64))
    all_edges = np.concatenate(edges)
    graph = coo_matrix((np.ones(len(all_edges), dtype=np.int8), (all_edges[:, 0], all_edges[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def sample_families(examples: Sequence[Any], fraction: float, seed: int) -> set[str]:
    """A seeded random `fraction` of the examples' families (whole groups, never cut in two)."""
    families = sorted({e.family for e in examples})
    order = np.random.default_rng(seed).permutation(len(families))
    return {families[i] for i in order[: int(round(fraction * len(families)))]}


def _hashed_fraction(key: int, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(message_ids: Sequence[int], groups: Sequence[int] | np.ndarray, sent_at: Sequence[datetime | None], *,
                  by_time: bool = False, test_fraction: float = TEST_FRACTION, salt: str = "split") -> list[str]:
    """"train" or "test" per message; every member of a group gets the same side."""
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(int(group), []).append(index)
    test_groups: set[int] = set()
    if by_time:
        def start(group: int) -> tuple[datetime, int]:
            idx = members[group]
            return (min(sent_at[i] or EPOCH for i in idx), min(message_ids[i] for i in idx))

        ordered = sorted(members, key=start)
        quota, taken = test_fraction * len(message_ids), 0
        for group in reversed(ordered):
            if taken >= quota:
                break
            test_groups.add(group)
            taken += len(members[group])
    else:
        test_groups = {g for g, idx in members.items()
                       if _hashed_fraction(min(message_ids[i] for i in idx), salt) < test_fraction}
    return ["test" if int(g) in test_groups else "train" for g in groups]
