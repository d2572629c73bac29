"""Watchlists and their entries in the database: create, import (audited), list.

Only hashes, quality, the owner's opaque reference and who added them are stored; photos are
read from where the user keeps them, hashed in memory and never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DetectorError, InputError, NotFoundError
from ..link.photos import BadPhoto, open_photo
from ..schema import AuditEvent, Partner, Watchlist, WatchlistEntry, WatchlistMatch
from .hashes import HASH_FILE_SUFFIXES, BadLine, EntryHashes, parse_line, photo_entry, to_bytes

MAX_HASH_FILE_BYTES = 64 * 2**20


def add_watchlist(session: Session, actor: str, name: str, owner: str) -> Watchlist:
    """A new, empty list owned by partner `owner` (an AuditEvent `watchlist_add`)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DetectorError("a watchlist name is 1 to 100 characters")
    partner = session.scalar(select(Partner).where(Partner.name == owner))
    if partner is None or partner.removed_at is not None:
        raise NotFoundError(f"no partner {owner!r}: add it first with `detector partner add`")
    if session.scalar(select(Watchlist.id).where(Watchlist.name == name)) is not None:
        raise DetectorError(f"watchlist {name!r} already exists")
    watchlist = Watchlist(name=name, owner_id=partner.id, created_by=actor)
    session.add(watchlist)
    session.flush()
    session.add(AuditEvent(actor=actor, action="watchlist_add", object_type="watchlist", object_id=str(watchlist.id),
                           before=None, after={"name": name, "owner": partner.name}))
    return watchlist


def get_watchlist(session: Session, name: str) -> Watchlist:
    watchlist = session.scalar(select(Watchlist).where(Watchlist.name == name))
    if watchlist is None:
        raise NotFoundError(f"no watchlist {name!r}: create it with `detector watchlist add`")
    return watchlist


@dataclass
class ReadEntries:
    """Entries read from files and one line per refused photo or hash-file line."""

    entries: list[EntryHashes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: int = 0


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    elif path.is_file():
        yield path
    else:
        raise InputError(path, "no such file or folder")


def _read_hash_file(path: Path, out: ReadEntries) -> None:
    if path.stat().st_size > MAX_HASH_FILE_BYTES:
        out.problems.append(f"{path}: over {MAX_HASH_FILE_BYTES // 2**20} MB, not a hash list")
        return
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        out.problems.append(f"{path}: not UTF-8 text")
        return
    for number, line in enumerate(lines, 1):
        try:
            entry = parse_line(line)
        except BadLine as exc:
            out.problems.append(f"{path}:{number}: {exc}")
            continue
        if entry is not None:
            out.entries.append(entry)


def _read_photo(path: Path, out: ReadEntries) -> None:
    try:
        out.entries.append(photo_entry(open_photo(path), path.stem))
    except BadPhoto as exc:
        out.problems.append(f"{path}: {exc.reason.replace('_', ' ')}")
    except BadLine as exc:
        out.problems.append(f"{path}: {exc}")
    except Exception as exc:  # a file that tripped the image library: still only this file
        out.problems.append(f"{path}: unreadable image ({type(exc).__name__})")


def read_entries(path: Path, progress: Callable[[Path], None] | None = None) -> ReadEntries:
    """Entries from a hash file, a photo, or a folder of both (hash files: .txt .csv .pdq; a photo's
    reference is its file name without the extension)."""
    out = ReadEntries()
    for file in _files(path):
        out.files += 1
        (_read_hash_file if file.suffix.lower() in HASH_FILE_SUFFIXES else _read_photo)(file, out)
        if progress is not None:
            progress(file)
    return out


@dataclass(frozen=True)
class ImportSummary:
    added: int
    already: int


def import_entries(session: Session, actor: str, watchlist: Watchlist, entries: list[EntryHashes]) -> ImportSummary:
    """Add the entries the list lacks (by PDQ hash), each with an AuditEvent `watchlist_entry_add`."""
    known = set(session.scalars(select(WatchlistEntry.pdq).where(WatchlistEntry.watchlist_id == watchlist.id)))
    added = 0
    for entry in entries:
        if entry.pdq in known:
            continue
        known.add(entry.pdq)
        row = WatchlistEntry(watchlist_id=watchlist.id, reference=entry.reference, pdq=entry.pdq,
                             quality=entry.quality, hashes=to_bytes(entry.words), origin=entry.origin, added_by=actor)
        session.add(row)
        session.flush()
        session.add(AuditEvent(actor=actor, action="watchlist_entry_add", object_type="watchlist_entry",
                               object_id=str(row.id), before=None,
                               after={"watchlist": watchlist.name, "reference": entry.reference, "pdq": entry.pdq,
                                      "quality": entry.quality, "origin": entry.origin}))
        added += 1
    return ImportSummary(added, len(entries) - added)


@dataclass(frozen=True)
class WatchlistRow:
    name: str
    owner: str
    entries: int
    matches: int
    created_by: str
    created_at: datetime


def list_watchlists(session: Session) -> list[WatchlistRow]:
    """Every list with its owner, entry count and match count (references are not listed)."""
    entries = (select(WatchlistEntry.watchlist_id, func.count().label("n"))
               .group_by(WatchlistEntry.watchlist_id).subquery())
    matches = (select(WatchlistEntry.watchlist_id, func.count().label("n"))
               .join(WatchlistMatch, WatchlistMatch.entry_id == WatchlistEntry.id)
               .group_by(WatchlistEntry.watchlist_id).subquery())
    rows = session.execute(
        select(Watchlist.name, Partner.name.label("owner"), func.coalesce(entries.c.n, 0),
               func.coalesce(matches.c.n, 0), Watchlist.created_by, Watchlist.created_at)
        .join(Partner, Partner.id == Watchlist.owner_id)
        .outerjoin(entries, entries.c.watchlist_id == Watchlist.id)
        .outerjoin(matches, matches.c.watchlist_id == Watchlist.id)
        .order_by(Watchlist.name)).all()
    return [WatchlistRow(*row) for row in rows]
