"""Matching listing photos against every watchlist entry within the linking distance.

New photos are matched as linking hashes them (`record_matches`, called by `link.run`); every
stored photo once with `match_all` (`detector watchlist match --all`). A match is stored once per
(entry, photo) with its distance and the hashes that met; its message becomes a critical queue item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select

from ..config import Settings
from ..db import session_scope
from ..link.photos import MAX_DISTANCE, MIN_QUALITY, BadPhoto, PhotoPrint, fingerprint, open_photo
from ..schema import Media, WatchlistEntry, WatchlistMatch
from .hashes import from_bytes, variant_name
from .index import MultiIndex
from .queue import escalate

BATCH = 200


@dataclass(frozen=True, slots=True)
class Found:
    entry_id: int
    distance: int
    variant: str


@dataclass
class WatchIndex:
    """Every entry's hashes stacked in a multi-index, with the entry of each row and where its rows start."""

    index: MultiIndex
    entry_ids: np.ndarray
    starts: dict[int, int]
    origins: dict[int, str]

    @classmethod
    def load(cls, conn: Connection) -> "WatchIndex":
        rows = conn.execute(select(WatchlistEntry.id, WatchlistEntry.hashes, WatchlistEntry.origin)
                            .order_by(WatchlistEntry.id)).all()
        parts, owners, starts, at = [], [], {}, 0
        for row in rows:
            words = from_bytes(row.hashes)
            parts.append(words)
            owners.append(np.full(len(words), row.id, dtype=np.int64))
            starts[row.id] = at
            at += len(words)
        words = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.uint64)
        entry_ids = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        return cls(MultiIndex(words, MAX_DISTANCE), entry_ids, starts, {row.id: row.origin for row in rows})

    def __len__(self) -> int:
        return len(self.index)

    def find(self, print_: PhotoPrint) -> list[Found]:
        """Each entry within MAX_DISTANCE of the photo (any crop, any orientation), at its nearest."""
        if print_.quality < MIN_QUALITY or not len(self):
            return []
        best: dict[int, Found] = {}
        for hit in self.index.hits(print_.queries):
            entry = int(self.entry_ids[hit.row])
            if entry not in best or hit.distance < best[entry].distance:
                variant = variant_name(hit.query, hit.row - self.starts[entry], self.origins[entry])
                best[entry] = Found(entry, hit.distance, variant)
        return sorted(best.values(), key=lambda f: (f.distance, f.entry_id))


def record_matches(conn: Connection, index: WatchIndex, prints: list[tuple[int, int, PhotoPrint]]) -> int:
    """Store the matches of these (media id, message id, print) photos not stored yet; returns how many."""
    if not len(index) or not prints:
        return 0
    known = {(row.entry_id, row.media_id) for row in conn.execute(
        select(WatchlistMatch.entry_id, WatchlistMatch.media_id).where(WatchlistMatch.media_id.in_([m for m, _, _ in prints])))}
    rows = [{"entry_id": f.entry_id, "media_id": media_id, "message_id": message_id, "distance": f.distance,
             "variant": f.variant}
            for media_id, message_id, print_ in prints for f in index.find(print_) if (f.entry_id, media_id) not in known]
    if rows:
        conn.execute(insert(WatchlistMatch), rows)
    return len(rows)


@dataclass
class MatchSummary:
    photos: int = 0
    matches_new: int = 0
    critical_items: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def count_stored_photos(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Media).where(*_stored_photo())).scalar_one()


def _stored_photo() -> tuple:
    return (Media.kind == "photo", Media.status == "stored", Media.stored_path.is_not(None))


def _print_of(root: Path, stored_path: str) -> PhotoPrint:
    path = (root / stored_path).resolve()
    if not path.is_relative_to(root):
        raise BadPhoto("outside_evidence_store", stored_path)
    return fingerprint(open_photo(path))


def match_all(engine: Engine, settings: Settings, progress: Callable[[int], None] | None = None) -> MatchSummary:
    """Match every stored photo against every watchlist (the one-off backfill), then queue the matches."""
    summary = MatchSummary()
    root = settings.evidence_dir.resolve()
    with engine.connect() as conn:
        index = WatchIndex.load(conn)
    last = 0
    while len(index):
        with engine.begin() as conn:
            rows = conn.execute(select(Media.id, Media.message_id, Media.stored_path)
                                .where(*_stored_photo(), Media.id > last).order_by(Media.id).limit(BATCH)).all()
            if not rows:
                break
            last = rows[-1].id
            prints = []
            for row in rows:
                try:
                    prints.append((row.id, row.message_id, _print_of(root, row.stored_path)))
                except BadPhoto as exc:
                    summary.skipped[exc.reason] += 1
                except Exception:  # a file that tripped the image library: still only this photo
                    summary.skipped["unreadable_image"] += 1
            summary.photos += len(prints)
            summary.matches_new += record_matches(conn, index, prints)
        if progress is not None:
            progress(len(rows))
    with session_scope(engine) as session:
        summary.critical_items = escalate(session)
    return summary
