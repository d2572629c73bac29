"""Near-duplicate clusters in the database: new messages join, merge or start clusters.

The LSH state is the MinHash signature of every processed message (`LinkSketch`); an
`Index` holds them in memory (loaded once per run, band keys rebuilt from them), so a
run only compares new messages with everything else and never recomputes old sketches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update

from ..schema import Cluster, ClusterMember, LinkSketch, utcnow
from . import lsh
from .sketch import NUM_PERM, from_bytes

IN_CHUNK = 500


def chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Index:
    """Signatures of every processed message, in memory (row i belongs to message ids[i])."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    signatures: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_PERM), dtype=np.uint32))

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

    def add(self, ids: np.ndarray, signatures: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, ids])
        self.signatures = np.concatenate([self.signatures, signatures])


@dataclass
class ClusterChanges:
    created: int = 0
    merged: int = 0
    joined: int = 0  # messages that entered a cluster


def _memberships(conn: Connection, message_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    member = ClusterMember.__table__
    for part in chunks(message_ids):
        found.update(conn.execute(select(member.c.message_id, member.c.cluster_id)
                                  .where(member.c.message_id.in_(part))).all())
    return found


def _sizes(conn: Connection, cluster_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for part in chunks(cluster_ids):
        found.update(conn.execute(select(Cluster.id, Cluster.size).where(Cluster.id.in_(part))).all())
    return found


def cluster_new(conn: Connection, index: Index, new_ids: np.ndarray, new_signatures: np.ndarray) -> ClusterChanges:
    """Add new messages to the index and to clusters: join, merge or create (one transaction)."""
    old = len(index.ids)
    index.add(new_ids, new_signatures)
    if not len(new_ids):
        return ClusterChanges()
    is_new = np.zeros(len(index.ids), dtype=bool)
    is_new[old:] = True
    pairs = lsh.similar_pairs(index.signatures, lsh.candidate_pairs(lsh.band_keys(index.signatures), is_new))
    return join_pairs(conn, index.ids[pairs])


def join_pairs(conn: Connection, pairs: np.ndarray) -> ClusterChanges:
    """Put each pair of message ids ((m, 2) array) in one cluster, merging clusters they bridge."""
    changes = ClusterChanges()
    if not len(pairs):
        return changes
    messages, local = np.unique(pairs, return_inverse=True)
    local = local.reshape(-1, 2)
    membership = _memberships(conn, messages.tolist())
    cluster_ids = sorted(set(membership.values()))
    node_of_cluster = {cid: len(messages) + k for k, cid in enumerate(cluster_ids)}
    row_of = {int(m): r for r, m in enumerate(messages)}
    extra = np.array([(row_of[m], node_of_cluster[c]) for m, c in membership.items()], dtype=np.int64).reshape(-1, 2)
    labels = lsh.components(len(messages) + len(cluster_ids), np.concatenate([local, extra]))
    groups: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for r, message_id in enumerate(messages.tolist()):
        groups[labels[r]][0].append(message_id)
    for cid, node in node_of_cluster.items():
        groups[labels[node]][1].append(cid)
    sizes = _sizes(conn, cluster_ids)
    now = utcnow()
    fresh = [members for members, clusters in groups.values() if not clusters]
    if fresh:
        made = conn.execute(insert(Cluster).returning(Cluster.id, sort_by_parameter_order=True),
                            [{"size": 0, "created_at": now, "updated_at": now}] * len(fresh)).scalars().all()
        changes.created = len(made)
    new_ids = iter(made if fresh else [])
    new_members: list[dict[str, int]] = []
    touched: list[int] = []
    for members, clusters in groups.values():
        if clusters:
            target = max(clusters, key=lambda c: (sizes.get(c, 0), -c))
            others = [c for c in clusters if c != target]
            if others:
                conn.execute(update(ClusterMember).where(ClusterMember.cluster_id.in_(others)).values(cluster_id=target))
                conn.execute(delete(Cluster).where(Cluster.id.in_(others)))
                changes.merged += len(others)
        else:
            target = next(new_ids)
        joining = [m for m in members if m not in membership]
        new_members.extend({"message_id": m, "cluster_id": target} for m in joining)
        changes.joined += len(joining)
        touched.append(target)
    if new_members:
        conn.execute(insert(ClusterMember), new_members)
    _refresh_sizes(conn, touched, now)
    return changes


def _refresh_sizes(conn: Connection, cluster_ids: list[int], now: object) -> None:
    counted = (select(func.count()).where(ClusterMember.cluster_id == Cluster.id).scalar_subquery())
    for part in chunks(cluster_ids):
        conn.execute(update(Cluster).where(Cluster.id.in_(part)).values(size=counted, updated_at=now))
