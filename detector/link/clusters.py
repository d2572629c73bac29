"""Near-duplicate clusters in the database: new messages join, merge or start clusters.

The LSH state is the MinHash signature of every processed message (`LinkSketch`); an
`Index` holds them in memory (loaded once per run, band buckets built from them once), so a
run only compares new messages with everything else and never recomputes old sketches; each
batch looks up and inserts only its own band keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update

from ..schema import Cluster, ClusterMember, LinkSketch, utcnow
from . import lsh
from .sketch import NUM_PERM, from_bytes

IN_CHUNK = 500


def chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Index:
    """Signatures of every processed message, in memory (row i belongs to message ids[i]), and
    their band buckets. Rows grow in place (spare room, no copy per batch) and a batch's pairs
    come from looking up its own band keys (`lsh.Buckets`), never from re-sorting every band."""

    GROWTH = 1.5

    def __init__(self, ids: np.ndarray | None = None, signatures: np.ndarray | None = None) -> None:
        self._ids = np.zeros(0, dtype=np.int64) if ids is None else ids
        self._signatures = np.zeros((0, NUM_PERM), dtype=np.uint32) if signatures is None else signatures
        self._n = len(self._ids)
        self.buckets = lsh.Buckets(lsh.band_keys(self.signatures))

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._n]

    @property
    def signatures(self) -> np.ndarray:
        return self._signatures[: self._n]

    @classmethod
    def load(cls, conn: Connection, batch: int = 200_000) -> "Index":
        """Every stored signature, read in batches by message id."""
        ids, sigs, last = [], [], 0
        sketch = LinkSketch.__table__
        while True:
            rows = conn.execute(
                select(sketch.c.message_id, sketch.c.minhash)
                .where(sketch.c.minhash.is_not(None), sketch.c.message_id > last)
                .order_by(sketch.c.message_id).limit(batch)
            ).all()
            if not rows:
                break
            ids.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
            sigs.append(from_bytes([r[1] for r in rows]))
            last = rows[-1][0]
        if not ids:
            return cls()
        return cls(np.concatenate(ids), np.concatenate(sigs))

    def add(self, ids: np.ndarray, signatures: np.ndarray) -> np.ndarray:
        """Add signatures, keeping rows in ascending id order; returns the candidate pairs (rows)
        of `lsh.candidate_pairs` that involve a new row."""
        order = np.argsort(ids, kind="stable")
        ids, signatures = ids[order], signatures[order]
        if len(ids) and self._n and ids[0] < self._ids[self._n - 1]:
            return self._add_late(ids, signatures)
        if self._n + len(ids) > len(self._ids):
            room = max(self._n + len(ids), int(len(self._ids) * self.GROWTH))
            self._ids = _grown(self._ids, room, self._n)
            self._signatures = _grown(self._signatures, room, self._n)
        self._ids[self._n : self._n + len(ids)] = ids
        self._signatures[self._n : self._n + len(ids)] = signatures
        self._n += len(ids)
        return self.buckets.append(lsh.band_keys(signatures))

    def _add_late(self, ids: np.ndarray, signatures: np.ndarray) -> np.ndarray:
        """A late commit brought a lower id: rows move, so pairs and buckets are made again (rare)."""
        all_ids = np.concatenate([self.ids, ids])
        order = np.argsort(all_ids, kind="stable")
        self._ids, self._signatures = all_ids[order], np.concatenate([self.signatures, signatures])[order]
        self._n = len(self._ids)
        keys = lsh.band_keys(self.signatures)
        self.buckets = lsh.Buckets(keys)
        return lsh.candidate_pairs(keys, np.isin(self.ids, ids))


def _grown(array: np.ndarray, rows: int, used: int) -> np.ndarray:
    bigger = np.empty((rows, *array.shape[1:]), dtype=array.dtype)
    bigger[:used] = array[:used]
    return bigger


@dataclass
class ClusterChanges:
    created: int = 0
    merged: int = 0


def _memberships(conn: Connection, message_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    member = ClusterMember.__table__
    for part in chunks(message_ids):
        found.update(conn.execute(select(member.c.message_id, member.c.cluster_id)
                                  .where(member.c.message_id.in_(part))).all())
    return found


def cluster_new(conn: Connection, index: Index, new_ids: np.ndarray, new_signatures: np.ndarray) -> ClusterChanges:
    """Add new messages to the index and to clusters: join, merge or create (one transaction)."""
    if not len(new_ids):
        return ClusterChanges()
    candidates = index.add(new_ids, new_signatures)
    pairs = lsh.similar_pairs(index.signatures, candidates)
    return join_pairs(conn, index.ids[pairs], index)


class _Sets:
    """Union-find whose sets keep a representative signature row. With signatures, two sets join
    only when their representatives are similar: chains of near-duplicates cannot drift into one
    giant cluster of unrelated messages (single-link chaining)."""

    def __init__(self, reps: list[int | None], signatures: np.ndarray | None) -> None:
        self.parent = list(range(len(reps)))
        self.rep = reps
        self.signatures = signatures

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int, checked: bool = True) -> None:
        """Put b's set under a's (a's representative stays) when allowed."""
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        ra, rb = self.rep[a], self.rep[b]
        if checked and self.signatures is not None and ra is not None and rb is not None:
            if (self.signatures[ra] == self.signatures[rb]).mean() < lsh.REPRESENTATIVE_THRESHOLD:
                return
        self.parent[b] = a
        if ra is None:
            self.rep[a] = rb


def _rows_in(index: Index | None, message_ids: list[int | None]) -> list[int | None]:
    """Each message's row in the index (ids are kept in ascending order), or None."""
    if index is None or not len(index.ids):
        return [None] * len(message_ids)
    wanted = np.array([m if m is not None else -1 for m in message_ids], dtype=np.int64)
    rows = np.minimum(np.searchsorted(index.ids, wanted), len(index.ids) - 1)
    return [int(r) if index.ids[r] == m else None for r, m in zip(rows, wanted)]


def join_pairs(conn: Connection, pairs: np.ndarray, index: Index | None = None) -> ClusterChanges:
    """Put each pair of message ids ((m, 2) array) in one cluster, merging clusters they bridge.

    With the index, pairs join in order of similarity and only when the two sets' representatives
    are similar too; without it (photo-and-contact pairs) every pair joins.
    """
    changes = ClusterChanges()
    if not len(pairs):
        return changes
    messages, local = np.unique(pairs, return_inverse=True)
    local = local.reshape(-1, 2)
    message_ids = messages.tolist()
    membership = _memberships(conn, message_ids)
    known = _known(conn, sorted(set(membership.values())))
    cluster_ids = sorted(known)
    sets = _Sets(_rows_in(index, message_ids) + _rows_in(index, [known[c][1] for c in cluster_ids]),
                 index.signatures if index is not None else None)
    node_of_cluster = {cid: len(messages) + k for k, cid in enumerate(cluster_ids)}
    row_of = {m: r for r, m in enumerate(message_ids)}
    for m, c in membership.items():
        sets.union(node_of_cluster[c], row_of[m], checked=False)
    if index is not None:
        rows = np.array(_rows_in(index, pairs.ravel().tolist()), dtype=np.int64).reshape(-1, 2)
        local = local[np.argsort(-(index.signatures[rows[:, 0]] == index.signatures[rows[:, 1]]).mean(axis=1),
                                 kind="stable")]
    for a, b in local.tolist():
        sets.union(a, b)
    groups: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for r, message_id in enumerate(message_ids):
        groups[sets.find(r)][0].append(message_id)
    for cid, node in node_of_cluster.items():
        groups[sets.find(node)][1].append(cid)
    now = utcnow()
    fresh = [(root, members) for root, (members, clusters) in groups.items() if not clusters and len(members) > 1]
    made = iter(conn.execute(
        insert(Cluster).returning(Cluster.id, sort_by_parameter_order=True),
        [{"size": 0, "created_at": now, "updated_at": now, "representative_id": _representative(index, sets, root, members)}
         for root, members in fresh]).scalars().all() if fresh else [])
    changes.created = len(fresh)
    new_members: list[dict[str, int]] = []
    touched: list[int] = []
    for members, clusters in groups.values():
        if clusters:
            target = max(clusters, key=lambda c: (known[c][0], -c))
            others = [c for c in clusters if c != target]
            if others:
                conn.execute(update(ClusterMember).where(ClusterMember.cluster_id.in_(others)).values(cluster_id=target))
                conn.execute(delete(Cluster).where(Cluster.id.in_(others)))
                changes.merged += len(others)
        elif len(members) > 1:
            target = next(made)
        else:
            continue  # a message whose every pair was refused: it stays alone
        joining = [m for m in members if m not in membership]
        new_members.extend({"message_id": m, "cluster_id": target} for m in joining)
        touched.append(target)
    if new_members:
        conn.execute(insert(ClusterMember), new_members)
    _refresh_sizes(conn, touched, now)
    return changes


def _representative(index: Index | None, sets: _Sets, root: int, members: list[int]) -> int:
    row = sets.rep[root]
    return int(index.ids[row]) if index is not None and row is not None else members[0]


def _known(conn: Connection, cluster_ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """Size and representative message of each cluster."""
    found: dict[int, tuple[int, int | None]] = {}
    for part in chunks(cluster_ids):
        found.update({r.id: (r.size, r.representative_id) for r in conn.execute(
            select(Cluster.id, Cluster.size, Cluster.representative_id).where(Cluster.id.in_(part)))})
    return found


def _refresh_sizes(conn: Connection, cluster_ids: list[int], now: object) -> None:
    counted = (select(func.count()).where(ClusterMember.cluster_id == Cluster.id).scalar_subquery())
    for part in chunks(cluster_ids):
        conn.execute(update(Cluster).where(Cluster.id.in_(part)).values(size=counted, updated_at=now))
