"""Entities in the database: contacts (phones, Telegram accounts, e-mails) and photos shared by messages.

Entities are kept even with one message, so a later message with the same key joins
them without a search. Photo entities group exact copies (same SHA-256) and perceptual
matches (PDQ, see `photos`); bad files are recorded with their reason, never fatal.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import aliased

from ..schema import Entity, EntityMember, LinkPhoto, Media, utcnow
from .clusters import chunks
from .contacts import entity_keys
from .photos import MAX_DISTANCE, MIN_QUALITY, BadPhoto, PhotoPrint, fingerprint, hamming, open_photo

log = logging.getLogger("detector.link")


def _entity_ids(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of the entities with these (kind, key)s, created when missing."""
    found: dict[tuple[str, str], int] = {}
    wanted = sorted(keys)
    for part in chunks(wanted):
        rows = conn.execute(select(Entity.id, Entity.kind, Entity.key).where(Entity.key.in_([k for _, k in part])))
        found.update({(r.kind, r.key): r.id for r in rows if (r.kind, r.key) in keys})
    missing = [k for k in wanted if k not in found]
    if missing:
        now = utcnow()
        conn.execute(insert(Entity), [{"kind": kind, "key": key, "size": 0, "created_at": now} for kind, key in missing])
        return _entity_ids(conn, keys)
    return found


def refresh_sizes(conn: Connection, entity_ids: set[int]) -> None:
    counted = select(func.count()).where(EntityMember.entity_id == Entity.id).scalar_subquery()
    for part in chunks(sorted(entity_ids)):
        conn.execute(update(Entity).where(Entity.id.in_(part)).values(size=counted))


def add_members(conn: Connection, members: dict[tuple[int, int], str]) -> set[int]:
    """Insert (entity id, message id) -> via rows not stored yet; returns the entities touched."""
    if not members:
        return set()
    existing: set[tuple[int, int]] = set()
    pairs = sorted(members)
    for part in chunks(sorted({m for _, m in pairs})):
        existing.update(conn.execute(select(EntityMember.entity_id, EntityMember.message_id)
                                     .where(EntityMember.message_id.in_(part))).all())
    rows = [{"entity_id": e, "message_id": m, "via": members[(e, m)][:300]} for e, m in pairs if (e, m) not in existing]
    if rows:
        conn.execute(insert(EntityMember), rows)
    touched = {e for e, _ in pairs}
    refresh_sizes(conn, touched)
    return touched


def link_contacts(conn: Connection, messages: list[tuple[int, list[dict[str, Any]]]]) -> int:
    """Link each (message id, signals) to its contact entities; returns how many memberships were made."""
    per_message = [(mid, entity_keys(sigs)) for mid, sigs in messages]
    ids = _entity_ids(conn, {k for _, keys in per_message for k in keys})
    members = {(ids[key], mid): via for mid, keys in per_message for key, via in keys.items()}
    add_members(conn, members)
    return len(members)


# --------------------------------------------------------------------------- photos


@dataclass
class PhotoIndex:
    """Known photos: SHA-256 -> entity, and the PDQ crop hashes of every usable photo."""

    by_sha: dict[str, int] = field(default_factory=dict)
    hashes: list[np.ndarray] = field(default_factory=list)  # (crops, 4) uint64 per photo
    entities: list[int] = field(default_factory=list)  # the entity of each stored crop row
    _stacked: np.ndarray | None = None

    def stored(self) -> np.ndarray:
        if self._stacked is None or len(self._stacked) != len(self.entities):
            self._stacked = np.concatenate(self.hashes) if self.hashes else np.zeros((0, 4), dtype=np.uint64)
        return self._stacked

    def match(self, sha256: str, fingerprint: PhotoPrint | None) -> int | None:
        """The entity of an exact copy, else of the nearest perceptual match within MAX_DISTANCE."""
        if sha256 in self.by_sha:
            return self.by_sha[sha256]
        if fingerprint is None or fingerprint.quality < MIN_QUALITY or not self.hashes:
            return None
        distances = hamming(fingerprint.queries, self.stored()).min(axis=0)
        best = int(distances.argmin())
        return self.entities[best] if distances[best] <= MAX_DISTANCE else None

    def add(self, sha256: str, fingerprint: PhotoPrint | None, entity_id: int) -> None:
        self.by_sha.setdefault(sha256, entity_id)
        if fingerprint is not None and fingerprint.quality >= MIN_QUALITY:
            self._remember(fingerprint.crops, entity_id)

    def _remember(self, crops: np.ndarray, entity_id: int) -> None:
        self.hashes.append(crops)
        self.entities.extend([entity_id] * len(crops))


def _crops_of(pdq_crops: bytes) -> np.ndarray:
    return np.frombuffer(pdq_crops, dtype="<u8").reshape(-1, 4).astype(np.uint64)


def load_photo_index(conn: Connection) -> PhotoIndex:
    index = PhotoIndex()
    rows = conn.execute(
        select(Media.sha256, LinkPhoto.entity_id, LinkPhoto.pdq_crops, Media.pdq_quality)
        .join(Media, Media.id == LinkPhoto.media_id).where(LinkPhoto.entity_id.is_not(None)).order_by(LinkPhoto.media_id)
    )
    for row in rows:
        index.by_sha.setdefault(row.sha256, row.entity_id)
        if row.pdq_crops and (row.pdq_quality or 0) >= MIN_QUALITY:
            index._remember(_crops_of(row.pdq_crops), row.entity_id)
    return index


@dataclass
class PhotoResult:
    hashed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    entities: set[int] = field(default_factory=set)  # photo entities that gained messages
    prints: list[tuple[int, int, PhotoPrint]] = field(default_factory=list)  # (media, message, print) hashed


def pending_photos(conn: Connection, limit: int) -> Sequence[Any]:
    return conn.execute(
        select(Media.id, Media.message_id, Media.sha256, Media.stored_path)
        .where(Media.kind == "photo", Media.status == "stored", Media.stored_path.is_not(None),
               ~select(LinkPhoto.media_id).where(LinkPhoto.media_id == Media.id).exists())
        .order_by(Media.id).limit(limit)
    ).all()


def count_pending_photos(conn: Connection) -> int:
    return conn.execute(
        select(func.count()).select_from(Media)
        .where(Media.kind == "photo", Media.status == "stored", Media.stored_path.is_not(None),
               ~select(LinkPhoto.media_id).where(LinkPhoto.media_id == Media.id).exists())
    ).scalar_one()


def link_photos(conn: Connection, index: PhotoIndex, evidence_dir: Path, rows: Sequence[Any],
                progress: Callable[[int], None] | None = None) -> PhotoResult:
    """Hash these stored photos, fill Media.pdq, and put each in its photo entity (one transaction)."""
    result = PhotoResult()
    root = evidence_dir.resolve()
    members: dict[tuple[int, int], str] = {}
    for row in rows:
        print_: PhotoPrint | None = None
        skipped = None
        path = (root / row.stored_path).resolve()
        try:
            if not path.is_relative_to(root):
                raise BadPhoto("outside_evidence_store", row.stored_path)
            print_ = fingerprint(open_photo(path))
        except BadPhoto as exc:
            skipped, problem = exc.reason, str(exc)
        except Exception as exc:  # a file that tripped the image library: still only this photo
            skipped, problem = "unreadable_image", f"{type(exc).__name__}: {exc}"
        if skipped is not None:
            result.skipped[skipped] += 1
            log.warning("photo %s (media %s) skipped: %s", row.stored_path, row.id, problem)
        entity_id = index.match(row.sha256, print_) if (print_ is not None or row.sha256 in index.by_sha) else None
        if entity_id is None and skipped is None:
            entity_id = _entity_ids(conn, {("photo", row.sha256)})[("photo", row.sha256)]
        if entity_id is not None:
            index.add(row.sha256, print_, entity_id)
            members.setdefault((entity_id, row.message_id), f"photo (media {row.id})")
        if print_ is not None:
            result.hashed += 1
            result.prints.append((row.id, row.message_id, print_))
            conn.execute(update(Media).where(Media.id == row.id).values(pdq=print_.pdq, pdq_quality=print_.quality))
        conn.execute(insert(LinkPhoto).values(
            media_id=row.id, entity_id=entity_id, skipped=skipped,
            pdq_crops=print_.crops.astype("<u8").tobytes() if print_ is not None else None))
        if progress is not None:
            progress(1)
    result.entities = add_members(conn, members)
    return result


def photo_and_contact_pairs(conn: Connection, photo_entities: set[int]) -> np.ndarray:
    """(m, 2) message id pairs that share one of these photo entities AND a contact entity:
    the same picture with the same phone or account is the same listing, however re-worded."""
    photo_a, photo_b, contact_a, contact_b = (aliased(EntityMember) for _ in range(4))
    found: set[tuple[int, int]] = set()
    for part in chunks(sorted(photo_entities)):
        query = (
            select(photo_a.message_id, photo_b.message_id)
            .join(photo_b, (photo_b.entity_id == photo_a.entity_id) & (photo_b.message_id > photo_a.message_id))
            .join(contact_a, contact_a.message_id == photo_a.message_id)
            .join(contact_b, (contact_b.message_id == photo_b.message_id) & (contact_b.entity_id == contact_a.entity_id))
            .join(Entity, (Entity.id == contact_a.entity_id) & (Entity.kind != "photo"))
            .where(photo_a.entity_id.in_(part)).distinct()
        )
        found.update(conn.execute(query).all())
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)
