"""Idempotent storage of parsed records (SQLAlchemy Core, batched, SQLite and PostgreSQL).

A `Loader` works inside one transaction that the caller owns, so an export file
is stored all or nothing. Messages are unique on (source, external id): a record
seen before with the same raw bytes is counted as seen. A message's first version
is its Message row itself; MessageVersion rows exist only for edited messages:
at the first different raw bytes, version 1 is copied from the Message row (inside
the database) and the edit becomes version 2 (then n+1), and the message's current
text follows the newest edit (the Message row's raw span stays the first-seen bytes).
A version's original bytes are stored as its span of the export file (`raw_offset`,
`raw_length`; the file itself is kept whole in the evidence store) with their SHA-256.
Readers take the whole history from `Message.history`. Media bytes go to the evidence store.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)

from ..config import Settings
from ..gc_pause import cyclic_gc_paused
from ..hashing import sha256_bytes
from ..schema import ExportFile, Media, Message, MessageVersion, Source, utcnow
from ..text.cap import cap_text
from .archive import MediaResolver
from .bulk import BulkInsert
from .evidence import Blob, EvidenceStore, clean_suffix
from .mime import SNIFF_BYTES, sniff_mime
from .records import ChatRecord, MediaRecord, MessageRecord

BATCH_SIZE = 5000
SQLITE_CACHE_KIB = 64 * 1024
_EPOCH = datetime.min.replace(tzinfo=UTC)

source_t = cast(Table, Source.__table__)
export_t = cast(Table, ExportFile.__table__)
message_t = cast(Table, Message.__table__)
version_t = cast(Table, MessageVersion.__table__)
media_t = cast(Table, Media.__table__)

MESSAGE_COLUMNS = (  # in the table's order, so the driver takes the tuples as they are
    "source_id", "external_id", "export_file_id", "kind", "sent_at", "sent_local", "sender_name", "sender_id",
    "text", "text_length", "entities", "reply_to", "forwarded_from", "edited_at", "raw_offset", "raw_length",
    "raw_sha256", "created_at",
)
VERSION_COLUMNS = (
    "message_id", "version", "text", "text_length", "edited_at", "raw_offset", "raw_length", "raw_sha256",
    "export_file_id", "seen_at",
)
_NEW = (message_t.c.id > bindparam("after")) & (message_t.c.export_file_id == bindparam("export"))
_LAST_NEW = select(func.max(message_t.c.id)).where(_NEW)
_NEW_IDS = select(message_t.c.id, message_t.c.source_id, message_t.c.external_id).where(_NEW)
_COPIED = ("text", "text_length", "edited_at", "raw", "raw_offset", "raw_length", "raw_sha256", "export_file_id")  # Message -> version 1
_FIRST_VERSIONS = insert(version_t).from_select(  # version 1 of messages at their first edit, copied inside the database
    ("message_id", "version", *_COPIED, "seen_at"),
    select(message_t.c.id, literal(1, Integer), *(message_t.c[name] for name in _COPIED), message_t.c.created_at)
    .where(message_t.c.id.in_(bindparam("ids", expanding=True))),
)

_KNOWN = (  # a source's stored messages among some external ids: first raw hash, and their version rows if edited
    select(
        message_t.c.external_id, message_t.c.id, message_t.c.edited_at, message_t.c.raw_sha256,
        version_t.c.raw_sha256.label("version_sha256"), version_t.c.version,
    )
    .outerjoin(version_t, version_t.c.message_id == message_t.c.id)
    .where(message_t.c.source_id == bindparam("sid"), message_t.c.external_id.in_(bindparam("ids", expanding=True)))
)


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """The export file being loaded, already kept in the evidence store."""

    name: str
    sha256: str
    size: int
    format: str
    stored_path: str


@dataclass(slots=True)
class LoadResult:
    """What loading one export file did."""

    messages_new: int = 0
    messages_seen: int = 0
    versions_new: int = 0
    media: dict[str, int] = field(default_factory=dict)  # status -> count
    already_stored: bool = False


@dataclass(slots=True)
class _Known:
    """A stored message as the loader needs it: id, newest edit, raw hashes of its versions."""

    id: int
    edited_at: datetime | None
    hashes: set[str]
    last_version: int = 1
    has_rows: bool = False  # MessageVersion rows stored (from its first edit on)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Loader:
    """Stores export files through one open connection (the caller commits or rolls back)."""

    def __init__(self, conn: Connection, evidence: EvidenceStore, *, actor: str = "", batch_size: int = BATCH_SIZE,
                 max_text_chars: int = Settings.max_text_chars) -> None:
        self.conn = conn
        self.evidence = evidence
        self.actor = actor
        self.batch_size = batch_size
        self.max_text_chars = max_text_chars  # longer texts are stored cut, with their whole length
        self.created_blobs: list[Blob] = []
        self._sources: dict[ChatRecord, int] = {}
        self._messages = BulkInsert(conn, message_t, MESSAGE_COLUMNS)
        self._versions = BulkInsert(conn, version_t, VERSION_COLUMNS)
        # per source: None when it held messages before this loader, else the highest integer external id this
        # loader inserted (-1: none yet) - then a batch of higher integer ids needs no look-up of stored messages
        self._numbered: dict[int, int | None] = {}
        self._as_time = self._messages.converter("sent_at")
        self._as_json = self._messages.converter("entities")
        self._last_id = 0  # the messages a load inserts all have ids above this one
        if conn.dialect.name == "sqlite":  # index pages of a growing archive stay in memory during big loads
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    # ------------------------------------------------------------------ export files

    def load(self, export: ExportInfo, records: Iterable[MessageRecord], media: MediaResolver) -> LoadResult:
        """Store one export file's records; an export already stored (same SHA-256) adds nothing."""
        known = self.stored_export(export.sha256)
        if known is not None:
            return known
        export_id = self.conn.execute(
            insert(export_t).returning(export_t.c.id),
            {
                "sha256": export.sha256,
                "name": export.name,
                "size": export.size,
                "format": export.format,
                "stored_path": export.stored_path,
                "ingested_by": self.actor,
            },
        ).scalar_one()
        result = LoadResult()
        self._last_id = self.conn.execute(select(func.coalesce(func.max(message_t.c.id), 0))).scalar_one()
        media_cache: dict[str, tuple[str, Blob | None, str | None]] = {}
        with cyclic_gc_paused():
            for batch in batched(records, self.batch_size):
                self._store_batch(batch, export_id, media, media_cache, result)
        self.conn.execute(
            update(export_t)
            .where(export_t.c.id == export_id)
            .values(messages_new=result.messages_new, messages_seen=result.messages_seen)
        )
        return result

    def stored_export(self, sha256: str) -> LoadResult | None:
        """For an export file stored before (same SHA-256): its messages, all counted as seen."""
        row = self.conn.execute(
            select(export_t.c.messages_new, export_t.c.messages_seen).where(export_t.c.sha256 == sha256)
        ).first()
        if row is None:
            return None
        return LoadResult(messages_seen=row.messages_new + row.messages_seen, already_stored=True)

    def keep(self, blob: Blob) -> Blob:
        """Remember a blob written for this transaction, so a rollback can remove it (see run.py)."""
        if blob.created:
            self.created_blobs.append(blob)
        return blob

    # ------------------------------------------------------------------ sources

    def source_id(self, chat: ChatRecord) -> int:
        """The Source row for a chat, created or renamed as needed (cached per loader)."""
        if chat in self._sources:
            return self._sources[chat]
        row = self.conn.execute(
            select(source_t.c.id, source_t.c.name, source_t.c.type).where(
                source_t.c.platform == chat.platform, source_t.c.chat_id == chat.chat_id
            )
        ).first()
        if row is None:
            sid = self.conn.execute(
                insert(source_t).returning(source_t.c.id),
                {"platform": chat.platform, "chat_id": chat.chat_id, "name": chat.name, "type": chat.type},
            ).scalar_one()
        else:
            sid = row.id
            changes = {k: v for k, v in (("name", chat.name), ("type", chat.type)) if v and v != getattr(row, k)}
            if changes:
                self.conn.execute(update(source_t).where(source_t.c.id == sid).values(**changes))
        if sid not in self._numbered:
            stored = row is not None and self.conn.execute(
                select(message_t.c.id).where(message_t.c.source_id == sid).limit(1)
            ).first()
            self._numbered[sid] = None if stored else -1
        self._sources[chat] = sid
        return sid

    # ------------------------------------------------------------------ messages

    def _known_messages(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], _Known]:
        """The stored messages among (source id, external id) keys, with the raw hashes of all their versions."""
        externals: dict[int, list[str]] = {}
        for sid, ext in keys:
            externals.setdefault(sid, []).append(ext)
        known: dict[tuple[int, str], _Known] = {}
        for sid, ids in externals.items():
            top = self._numbered.get(sid)
            if top is not None and all(ext.isdecimal() for ext in ids) and min(map(int, ids)) > top:
                continue  # all stored messages of this source came from this loader, with lower ids
            rows = self.conn.execute(_KNOWN, {"sid": sid, "ids": ids})
            for row in rows:
                item = known.setdefault((sid, row.external_id), _Known(row.id, row.edited_at, {row.raw_sha256}))
                if row.version is not None:
                    item.hashes.add(row.version_sha256)
                    item.last_version = max(item.last_version, row.version)
                    item.has_rows = True
        return known

    def _ids_since(self, export_id: int) -> dict[tuple[int, str], int]:
        """Ids of the messages this export file inserted since the last call (a range scan on the key)."""
        rows = self.conn.execute(_NEW_IDS, {"after": self._last_id, "export": export_id}).all()
        ids = {(sid, ext): mid for mid, sid, ext in rows}
        self._last_id = max(ids.values(), default=self._last_id)
        return ids

    def _note_inserted(self, keys: Iterable[tuple[int, str]]) -> None:
        """Keep each fresh source's highest integer external id (a non-integer one ends the shortcut)."""
        for sid, ext in keys:
            top = self._numbered.get(sid)
            if top is not None:
                self._numbered[sid] = max(top, int(ext)) if ext.isdecimal() else None

    def _source_ids(self, batch: list[MessageRecord]) -> list[int]:
        """Each record's source id (a chat's records share one ChatRecord: mostly an identity check)."""
        chat, sid, ids = None, 0, []
        for record in batch:
            if record.chat is not chat:
                chat, sid = record.chat, self.source_id(record.chat)
            ids.append(sid)
        return ids

    def _store_batch(
        self,
        batch: list[MessageRecord],
        export_id: int,
        media: MediaResolver,
        media_cache: dict[str, tuple[str, Blob | None, str | None]],
        result: LoadResult,
    ) -> None:
        keyed = [((sid, r.external_id), r, sha256_bytes(r.raw)) for sid, r in zip(self._source_ids(batch), batch)]
        known = self._known_messages([key for key, _, _ in keyed])
        fresh: dict[tuple[int, str], tuple[MessageRecord, str]] = {}
        repeats: list[tuple[tuple[int, str], MessageRecord, str]] = []
        for key, record, sha in keyed:
            if key in known or key in fresh:
                repeats.append((key, record, sha))
            else:
                fresh[key] = (record, sha)
        if fresh:
            repeat_keys = {key for key, _, _ in repeats}
            self._insert_fresh(fresh, known, repeat_keys, export_id, media, media_cache, result)
        if repeats:
            self._record_repeats(repeats, known, export_id, result)

    def _insert_fresh(
        self,
        fresh: dict[tuple[int, str], tuple[MessageRecord, str]],
        known: dict[tuple[int, str], _Known],
        repeat_keys: set[tuple[int, str]],
        export_id: int,
        media: MediaResolver,
        media_cache: dict[str, tuple[str, Blob | None, str | None]],
        result: LoadResult,
    ) -> None:
        """New messages (each its own version 1) and their media."""
        as_time, as_json, limit = self._as_time, self._as_json, self.max_text_chars
        now = as_time(utcnow())
        rows = [
            (
                sid, ext, export_id, r.kind, as_time(r.sent_at), r.sent_local, r.sender_name, r.sender_id,
                *cap_text(r.text, limit), as_json(r.entities), r.reply_to, r.forwarded_from, as_time(r.edited_at),
                r.offset, len(r.raw), sha, now,
            )
            for (sid, ext), (r, sha) in fresh.items()
        ]
        self._messages.execute(rows)
        result.messages_new += len(rows)
        self._note_inserted(fresh)
        after = {"after": self._last_id, "export": export_id}
        if not repeat_keys and not any(record.media for record, _ in fresh.values()):
            self._last_id = self.conn.execute(_LAST_NEW, after).scalar_one()  # no ids needed in Python
            return
        ids = self._ids_since(export_id)
        media_rows = [
            {"message_id": ids[key], **self._media_row(item, media, media_cache, result)}
            for key, (record, _) in fresh.items()
            if record.media
            for item in record.media
        ]
        for key in repeat_keys & fresh.keys():  # the same message again later in this batch
            record, sha = fresh[key]
            known[key] = _Known(ids[key], record.edited_at, {sha})
        if media_rows:
            self.conn.execute(insert(media_t), media_rows)

    def _record_repeats(
        self,
        repeats: list[tuple[tuple[int, str], MessageRecord, str]],
        known: dict[tuple[int, str], _Known],
        export_id: int,
        result: LoadResult,
    ) -> None:
        """Known messages: seen again, or a new version (the current text follows the newest edit)."""
        first_edits = []
        versions = []
        current = []
        now = self._as_time(utcnow())
        for key, record, sha in repeats:
            item = known[key]
            result.messages_seen += 1
            if sha in item.hashes:
                continue
            item.hashes.add(sha)
            if not item.has_rows:
                first_edits.append(item.id)
                item.has_rows = True
            item.last_version += 1
            edited = self._as_time(record.edited_at)
            text, text_length = cap_text(record.text, self.max_text_chars)
            versions.append(
                (item.id, item.last_version, text, text_length, edited, record.offset, len(record.raw), sha, export_id, now)
            )
            if (record.edited_at or _EPOCH) > (item.edited_at or _EPOCH):
                item.edited_at = record.edited_at
                current.append({"mid": item.id, "text": text, "text_length": text_length,
                                "entities": record.entities, "edited_at": record.edited_at})
        result.versions_new += len(versions)
        if first_edits:  # before the Message rows take the edits' text
            self.conn.execute(_FIRST_VERSIONS, {"ids": first_edits})
        self._versions.execute(versions)
        if current:
            self.conn.execute(
                update(message_t)
                .where(message_t.c.id == bindparam("mid"))
                .values(
                    text=bindparam("text"),
                    text_length=bindparam("text_length"),
                    entities=bindparam("entities"),
                    edited_at=bindparam("edited_at"),
                    language=None,
                    language_confidence=None,
                    signals=None,
                ),
                current,
            )

    # ------------------------------------------------------------------ media

    def _media_row(
        self,
        item: MediaRecord,
        media: MediaResolver,
        cache: dict[str, tuple[str, Blob | None, str | None]],
        result: LoadResult,
    ) -> dict[str, Any]:
        if not item.included:
            status, blob, mime = "not_included", None, item.mime
        elif not item.rel_path:
            status, blob, mime = "missing", None, item.mime
        elif item.rel_path in cache:
            status, blob, mime = cache[item.rel_path]
        else:
            status, blob, mime = self._store_media(item, media)
            cache[item.rel_path] = (status, blob, mime)
        result.media[status] = result.media.get(status, 0) + 1
        return {
            "kind": item.kind,
            "rel_path": item.rel_path,
            "status": status,
            "sha256": blob.sha256 if blob else None,
            "size": blob.size if blob else None,
            "mime": mime,
            "stored_path": blob.rel_path if blob else None,
        }

    def _store_media(self, item: MediaRecord, media: MediaResolver) -> tuple[str, Blob | None, str | None]:
        stream = media.open(item.rel_path)
        if stream is None:
            return "missing", None, item.mime
        with stream:
            blob = self.keep(self.evidence.put_stream(stream, clean_suffix(item.rel_path)))
        with self.evidence.open(blob.rel_path) as stored:
            mime = sniff_mime(stored.read(SNIFF_BYTES))
        return "stored", blob, mime
