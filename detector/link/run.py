"""`link_pending`: cluster and link every message and photo not linked yet (incremental).

Messages are sketched (in one pool of worker processes per run when there are many), then each batch is
clustered against everything linked before and linked to its contact entities in one
transaction; stored photos are hashed and grouped afterwards. A bad photo or a huge
message is skipped with a counted, logged reason; nothing else stops.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Engine, func, insert, select

from ..config import Settings
from ..db import session_scope
from ..schema import Cluster, Entity, LinkSketch, Message
from ..text import signals as find_signals
from .clusters import Index, cluster_new, join_pairs
from .entities import (count_pending_photos, link_contacts, link_photos, load_photo_index, pending_photos,
                       photo_and_contact_pairs)
from ..watchlist.match import WatchIndex, record_matches
from ..watchlist.queue import escalate
from .sketch import NUM_PERM, Sketch, Sketcher, to_bytes

log = logging.getLogger("detector.link")
BATCH = 100_000
PHOTO_BATCH = 200
PARALLEL_FROM = 20_000
WORK_CHUNK = 2_000


class LinkProgress(Protocol):
    """Where linking reports how far it got (a rich bar in the CLI)."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass
class LinkSummary:
    """One run: `clusters` and `entities` are totals after it (clusters of 2+ messages, entities
    shared by 2+ messages); the other counts are this run's work."""

    clusters: int = 0
    entities: int = 0
    messages_linked: int = 0
    photos_hashed: int = 0
    watchlist_matches: int = 0  # listing photos found on a missing-person watchlist (detector.watchlist)
    clusters_created: int = 0
    clusters_merged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


_worker_sketcher: Sketcher | None = None


def _sketch_chunk(texts: list[str]) -> list[Sketch]:
    global _worker_sketcher
    if _worker_sketcher is None:
        _worker_sketcher = Sketcher()
    return _worker_sketcher.sketch_many(texts)


class SketchWorkers:
    """Sketches texts: in worker processes when there are many and more than one core; the
    pool starts at the first large batch and serves every later batch of the run."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "SketchWorkers":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def sketch(self, texts: list[str]) -> list[Sketch]:
        if len(texts) < PARALLEL_FROM or self.workers < 2:
            return _sketch_chunk(texts)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        parts = [texts[i : i + WORK_CHUNK] for i in range(0, len(texts), WORK_CHUNK)]
        return [s for part in self._pool.map(_sketch_chunk, parts) for s in part]


def _unlinked() -> Any:
    return ~select(LinkSketch.message_id).where(LinkSketch.message_id == Message.id).exists()


def count_pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Message)
                            .where(Message.kind == "message", _unlinked())).scalar_one()


def _link_batch(engine: Engine, index: Index, workers: SketchWorkers, rows: Sequence[Any], summary: LinkSummary,
                skipped: Counter[str]) -> None:
    sketches = workers.sketch([r.text or "" for r in rows])
    usable = [(r.id, s.signature) for r, s in zip(rows, sketches) if s.signature is not None]
    for row, sketch in zip(rows, sketches):
        if sketch.skipped == "huge_message":
            skipped["huge_message"] += 1
            log.warning("message %s skipped for clustering: huge message (%d characters)", row.id, len(row.text))
    with engine.begin() as conn:
        changes = cluster_new(
            conn, index,
            np.array([i for i, _ in usable], dtype=np.int64),
            np.stack([s for _, s in usable]) if usable else np.zeros((0, NUM_PERM), dtype=np.uint32),
        )
        conn.execute(insert(LinkSketch), [
            {"message_id": r.id, "minhash": to_bytes(s.signature) if s.signature is not None else None,
             "skipped": s.skipped} for r, s in zip(rows, sketches)])
        link_contacts(conn, [(r.id, r.signals if r.signals is not None else _signals_of(r.text)) for r in rows])
    summary.messages_linked += len(rows)
    summary.clusters_created += changes.created
    summary.clusters_merged += changes.merged


def _signals_of(text: str | None) -> list[dict[str, Any]]:
    """Contact signals for a message not analysed yet (huge texts are not searched)."""
    if not text or len(text) > 100_000:
        return []
    return [s.to_dict() for s in find_signals(text) if s.type == "contact"]


def link_pending(engine: Engine, settings: Settings, *, progress: LinkProgress | None = None,
                 batch_size: int = BATCH) -> LinkSummary:
    """Cluster and link messages and photos not linked yet; returns totals and this run's counts."""
    summary = LinkSummary()
    skipped: Counter[str] = Counter()
    with engine.connect() as conn:
        if progress is not None:
            progress.start(count_pending(engine) + count_pending_photos(conn))
        index = Index.load(conn)
    last_id = 0
    with SketchWorkers() as workers:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(Message.id, Message.text, Message.signals)
                    .where(Message.kind == "message", Message.id > last_id, _unlinked())
                    .order_by(Message.id).limit(batch_size)
                ).all()
            if not rows:
                break
            last_id = rows[-1].id
            _link_batch(engine, index, workers, rows, summary, skipped)
            if progress is not None:
                progress.advance(len(rows))
    with engine.connect() as conn:
        photo_index = load_photo_index(conn)
        watchlists = WatchIndex.load(conn)
    while True:
        with engine.begin() as conn:
            rows = pending_photos(conn, PHOTO_BATCH)
            if not rows:
                break
            result = link_photos(conn, photo_index, settings.evidence_dir, rows,
                                 progress.advance if progress is not None else None)
            changes = join_pairs(conn, photo_and_contact_pairs(conn, result.entities))
            found = record_matches(conn, watchlists, result.prints)
        summary.clusters_created += changes.created
        summary.clusters_merged += changes.merged
        summary.photos_hashed += result.hashed
        summary.watchlist_matches += found
        skipped.update(result.skipped)
    if len(watchlists):
        with session_scope(engine) as session:
            escalate(session)  # matched messages scored since the last run become critical items too
    with engine.connect() as conn:
        summary.clusters = conn.execute(select(func.count()).select_from(Cluster).where(Cluster.size > 1)).scalar_one()
        summary.entities = conn.execute(select(func.count()).select_from(Entity).where(Entity.size > 1)).scalar_one()
    summary.skipped = dict(skipped)
    return summary
