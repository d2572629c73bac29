"""Idempotent storage of records, the evidence store and safe archives (SQLite and PostgreSQL)."""

from __future__ import annotations

import gc
import io
import os
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from detector.errors import InputError
from detector.hashing import sha256_bytes
from detector.ingest.archive import FolderMedia, MediaRefused, SafeZip, ZipLimits, ZipMedia, path_problem
from detector.ingest.evidence import EvidenceStore
from detector.gc_pause import cyclic_gc_paused
from detector.ingest.load import ExportInfo, Loader
from detector.ingest.originals import original_bytes
from detector.ingest.records import ChatRecord, MediaRecord, MessageRecord
from detector.schema import ExportFile, Media, Message, MessageVersion, Source
from ingest_fixtures import histories

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(200))
CHAT = ChatRecord("telegram", "channel42", "Market", "public_channel")
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


def record(n: int, text: str | None = None, edited: datetime | None = None, media=(), chat=CHAT) -> MessageRecord:
    text = f"message number {n}" if text is None else text
    raw = f'{{"id": {n}, "text": "{text}", "edited": "{edited}"}}'.encode()
    return MessageRecord(
        chat=chat,
        external_id=str(n),
        sent_at=T0 + timedelta(minutes=n),
        sent_local=(T0 + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S"),
        sender_name="Seller",
        sender_id="user7",
        text=text,
        raw=raw,
        offset=0,  # placed by `load`
        entities=[{"type": "plain", "text": text}],
        edited_at=edited,
        media=list(media),
    )


def export_bytes(records, name: str) -> bytes:
    """An export file holding each record's bytes, where its offset says (the name makes each file distinct)."""
    data = name.encode()
    for r in records:
        r.offset, data = len(data), data + r.raw
    return data


def load(engine, store: EvidenceStore, records, name: str, media=None, batch_size: int = 3):
    blob = store.put_bytes(export_bytes(records, name), ".json")
    export = ExportInfo(name, blob.sha256, blob.size, "telegram_json", blob.rel_path)
    with engine.begin() as conn:
        loader = Loader(conn, store, actor="tester", batch_size=batch_size)
        return loader.load(export, iter(records), media or FolderMedia(store.root / "none" / "x", name))


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def store(tmp_path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


def test_records_are_stored_once_with_raw_bytes_and_version_one(engine, store):
    records = [record(n) for n in range(1, 8)]
    first = load(engine, store, records, "a.json")
    assert (first.messages_new, first.messages_seen) == (7, 0)
    with Session(engine) as session:
        msg = session.scalars(select(Message).where(Message.external_id == "5")).one()
        assert (msg.raw, msg.raw_length) == (None, len(records[4].raw))  # a span of the kept export file
        assert original_bytes(store, msg) == records[4].raw
        assert msg.raw_sha256 == sha256_bytes(records[4].raw)
        assert msg.sent_at == T0 + timedelta(minutes=5)
        assert msg.entities == [{"type": "plain", "text": "message number 5"}]
        assert [(v.version, v.text) for v in msg.history] == [(1, "message number 5")]
        assert msg.source.name == "Market" and msg.export_file.ingested_by == "tester"
    # the same records in another export file: all seen, nothing added
    again = load(engine, store, records, "b.json")
    assert (again.messages_new, again.messages_seen, again.versions_new) == (0, 7, 0)
    assert count(engine, Message) == 7 and count(engine, MessageVersion) == 0  # version 1 is the Message row itself
    assert histories(engine) == {str(n): [(1, f"message number {n}")] for n in range(1, 8)}
    assert count(engine, Source) == 1 and count(engine, ExportFile) == 2


def test_non_ascii_text_and_entities_read_back_unchanged(engine, store):
    text = 'قطة شيرازي للبيع — "quoted" \\ back\\slash \U0001f600'
    load(engine, store, [record(1, text)], "ar.json")
    with Session(engine) as session:
        msg = session.scalars(select(Message)).one()
        assert (msg.text, msg.entities) == (text, [{"type": "plain", "text": text}])


def test_same_export_file_twice_adds_nothing(engine, store):
    records = [record(n) for n in range(1, 4)]
    load(engine, store, records, "a.json")
    second = load(engine, store, records, "a.json")
    assert second.already_stored and second.messages_new == 0 and second.messages_seen == 3
    assert count(engine, ExportFile) == 1 and count(engine, Message) == 3


def test_later_export_adds_only_new_messages(engine, store):
    load(engine, store, [record(n) for n in range(1, 5)], "early.json")
    later = load(engine, store, [record(n) for n in range(1, 10)], "later.json")
    assert (later.messages_new, later.messages_seen) == (5, 4)
    assert count(engine, Message) == 9


def test_edited_message_keeps_both_versions_and_current_text_follows_newest(engine, store):
    load(engine, store, [record(1), record(2)], "first.json")
    edit = T0 + timedelta(hours=2)
    result = load(engine, store, [record(1), record(2, "price lowered", edited=edit)], "second.json")
    assert (result.messages_new, result.messages_seen, result.versions_new) == (0, 2, 1)
    with Session(engine) as session:
        msg = session.scalars(select(Message).where(Message.external_id == "2")).one()
        assert msg.text == "price lowered" and msg.edited_at == edit
        assert original_bytes(store, msg) == record(2).raw  # the first-seen bytes stay
        assert [(v.version, v.text) for v in msg.history] == [(1, "message number 2"), (2, "price lowered")]
        assert [(original_bytes(store, v), v.raw_sha256) for v in msg.history] == [
            (record(2).raw, sha256_bytes(record(2).raw)),
            (record(2, "price lowered", edited=edit).raw, sha256_bytes(record(2, "price lowered", edited=edit).raw)),
        ]
    # an older export read afterwards is a known version: seen, current text unchanged
    old = load(engine, store, [record(2)], "old-again.json")
    assert (old.messages_new, old.messages_seen, old.versions_new) == (0, 1, 0)
    with Session(engine) as session:
        assert session.scalars(select(Message.text).where(Message.external_id == "2")).one() == "price lowered"
    # a second edit is version 3; version 1 is not copied again
    third = load(engine, store, [record(2, "sold", edited=edit + timedelta(hours=1))], "third.json")
    assert (third.messages_seen, third.versions_new) == (1, 1)
    assert histories(engine)["2"] == [(1, "message number 2"), (2, "price lowered"), (3, "sold")]
    assert histories(engine)["1"] == [(1, "message number 1")] and count(engine, MessageVersion) == 3


@pytest.mark.parametrize("batch_size", [2, 10])  # the edit in a later batch, or in the batch that inserts the message
def test_duplicate_ids_within_one_file_and_across_batches(engine, store, batch_size):
    edit = T0 + timedelta(days=1)
    records = [record(1), record(2), record(1), record(3), record(4), record(2, "changed", edited=edit)]
    result = load(engine, store, records, "dups.json", batch_size=batch_size)
    assert (result.messages_new, result.messages_seen, result.versions_new) == (4, 2, 1)
    assert histories(engine) == {
        "1": [(1, "message number 1")], "2": [(1, "message number 2"), (2, "changed")],
        "3": [(1, "message number 3")], "4": [(1, "message number 4")],
    }
    with Session(engine) as session:
        message = session.scalars(select(Message).where(Message.external_id == "2")).one()
        assert original_bytes(store, message) == record(2).raw


@pytest.mark.parametrize(
    "ids",
    [
        ["1", "2", "3", "4", "5", "3"],  # ascending, then an old id in a later batch
        ["1", "2", "2", "3"],  # the last id of one batch first in the next
        ["10", "9", "11", "12", "9", "13"],  # out of order
        ["a1", "b2", "c3", "7", "a1", "8"],  # WhatsApp-style ids are not numbers
        ["7", "07", "8", "9", "\u0667", "7"],  # equal as numbers, different as ids
    ],
)
def test_repeats_across_batches_are_found_whatever_the_ids(engine, store, ids):
    def rec(ext: str, chat: ChatRecord = CHAT) -> MessageRecord:
        base = record(len(ext), chat=chat)
        return MessageRecord(**{**{f: getattr(base, f) for f in base.__slots__}, "external_id": ext,
                                "raw": f'{{"id": "{ext}"}}'.encode()})

    result = load(engine, store, [rec(ext) for ext in ids], "ids.json", batch_size=2)
    assert (result.messages_new, result.messages_seen) == (len(set(ids)), len(ids) - len(set(ids)))
    # one loader, two files in one transaction (a zip) of a new chat: the second file's ids were stored by the first
    zipped = ChatRecord("telegram", "zipped", "Zipped market")
    batches = ([rec("100", zipped), rec("101", zipped)], [rec("101", zipped), rec("102", zipped)])
    data = [store.put_bytes(export_bytes(batch, name), ".json") for batch, name in zip(batches, ("z1", "z2"))]
    with engine.begin() as conn:
        loader = Loader(conn, store, batch_size=2)
        first, second = (
            loader.load(ExportInfo(b.rel_path, b.sha256, b.size, "telegram_json", b.rel_path), iter(batch), FolderMedia(store.root, "z"))
            for b, batch in zip(data, batches)
        )
    assert (first.messages_new, second.messages_new, second.messages_seen) == (2, 1, 1)


def _first_versions(engine, store) -> dict[str, tuple]:
    with Session(engine) as session:
        return {
            msg.external_id: (
                v.version, v.text, v.edited_at, original_bytes(store, v), v.raw_sha256, v.export_file_id, v.seen_at
            )
            for msg in session.scalars(select(Message))
            for v in msg.history[:1]
        }


def test_version_one_is_the_message_as_first_stored(engine, store):
    edit = T0 + timedelta(hours=3)
    load(engine, store, [record(1), record(2, "edited once", edited=edit)], "v.json")
    with Session(engine) as session:
        first = {
            msg.external_id: (
                1, msg.text, msg.edited_at, original_bytes(store, msg), msg.raw_sha256, msg.export_file_id, msg.created_at
            )
            for msg in session.scalars(select(Message))
        }
    assert _first_versions(engine, store) == first and first["2"][1:5] == (
        "edited once", edit, record(2, "edited once", edited=edit).raw, sha256_bytes(record(2, "edited once", edited=edit).raw)
    )
    # both edited later: version 1 (copied into MessageVersion at the first edit) is still the message as first stored
    later = T0 + timedelta(hours=5)
    load(engine, store, [record(1, "new text", edited=later), record(2, "edited twice", edited=later)], "w.json")
    assert _first_versions(engine, store) == first
    assert histories(engine) == {"1": [(1, "message number 1"), (2, "new text")],
                                 "2": [(1, "edited once"), (2, "edited twice")]}


def test_an_archive_with_stored_version_one_rows_takes_edits(engine, store):
    """Archives written before version 1 lived only in the Message row hold a version-1 row for every message."""
    load(engine, store, [record(1)], "a.json")
    with engine.begin() as conn:
        columns = ("text", "edited_at", "raw", "raw_offset", "raw_length", "raw_sha256", "export_file_id")
        row = conn.execute(select(Message.id, Message.created_at, *(getattr(Message, c) for c in columns))).one()
        conn.execute(insert(MessageVersion), {"message_id": row.id, "version": 1, "seen_at": row.created_at,
                                              **{c: getattr(row, c) for c in columns}})
    result = load(engine, store, [record(1), record(1, "changed", edited=T0 + timedelta(days=2))], "b.json")
    assert (result.messages_seen, result.versions_new) == (2, 1)
    assert histories(engine) == {"1": [(1, "message number 1"), (2, "changed")]} and count(engine, MessageVersion) == 2


def test_same_external_id_in_two_chats_is_two_messages(engine, store):
    other = ChatRecord("telegram", "channel99", "Other market", "public_channel")
    result = load(engine, store, [record(1), record(1, chat=other)], "two.json")
    assert result.messages_new == 2 and count(engine, Source) == 2


def test_source_is_renamed_by_a_later_export(engine, store):
    load(engine, store, [record(1)], "a.json")
    renamed = ChatRecord("telegram", "channel42", "Market (new name)", "public_channel")
    load(engine, store, [record(2, chat=renamed)], "b.json")
    with engine.connect() as conn:
        assert conn.execute(select(Source.name)).scalars().all() == ["Market (new name)"]


def test_media_stored_not_included_and_missing(engine, store, tmp_path):
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "p1.jpg").write_bytes(JPEG)
    media = [
        MediaRecord("photo", "photos/p1.jpg"),
        MediaRecord("file", "files/doc.pdf", included=False),
        MediaRecord("photo", "photos/absent.jpg"),
    ]
    result = load(engine, store, [record(1, media=media), record(2, media=media[:1])], "m.json",
                  media=FolderMedia(folder / "result.json", "m.json"))
    assert result.media == {"stored": 2, "not_included": 1, "missing": 1}
    with engine.connect() as conn:
        rows = conn.execute(select(Media.rel_path, Media.status, Media.sha256, Media.size, Media.mime, Media.stored_path)
                            .order_by(Media.id)).all()
    stored = rows[0]
    assert stored.status == "stored" and stored.sha256 == sha256_bytes(JPEG) and stored.size == len(JPEG)
    assert stored.mime == "image/jpeg"
    assert store.path_of(stored.stored_path).read_bytes() == JPEG
    assert [r.status for r in rows] == ["stored", "not_included", "missing", "stored"]
    assert rows[2].sha256 is None and rows[1].stored_path is None


def test_media_outside_export_is_refused_and_rolls_back(engine, store, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (tmp_path / "secret.jpg").write_bytes(JPEG)
    (folder / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    resolver = FolderMedia(folder / "result.json", "m.json")
    for bad, reason in [("../secret.jpg", "points outside the export"), ("/etc/passwd", "is absolute"),
                        ("C:\\secret.jpg", "is absolute"), ("link.jpg", "leads outside the export folder")]:
        with pytest.raises(MediaRefused, match=reason):
            load(engine, store, [record(1), record(2, media=[MediaRecord("photo", bad)])], f"{bad}.json",
                 media=resolver)
    assert count(engine, Message) == 0 and count(engine, ExportFile) == 0


def test_evidence_store_is_content_addressed_and_write_once(tmp_path):
    store = EvidenceStore(tmp_path / "ev")
    blob = store.put_bytes(b"original bytes", ".json")
    digest = sha256_bytes(b"original bytes")
    assert blob.rel_path == f"{digest[:2]}/{digest}.json" and blob.created and blob.size == 14
    again = store.put_stream(io.BytesIO(b"original bytes"), ".json")
    assert again == blob.__class__(digest, 14, blob.rel_path, False)
    assert store.open(blob.rel_path).read() == b"original bytes" and store.verify(blob.rel_path)
    assert not os.access(store.path_of(blob.rel_path), os.W_OK) or os.geteuid() == 0
    assert [p.name for p in (tmp_path / "ev").iterdir() if p.is_file()] == []  # no temp files left
    with pytest.raises(Exception, match="bytes changed"):
        store.put_stream(io.BytesIO(b"other"), "", expected_sha256=digest)
    with pytest.raises(Exception, match="not an evidence path"):
        store.path_of("../../etc/passwd")


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_members_escaping_or_linking_are_refused(tmp_path):
    for i, bad in enumerate(["../evil.txt", "/abs.txt", "C:/win.txt", "a/../../up.txt", "..\\back.txt"]):
        path = _zip(tmp_path / f"bad{i}.zip", {"_chat.txt": b"x", bad: b"y"})
        with pytest.raises(InputError, match="escapes|outside|absolute"):
            SafeZip(path)
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as archive:
        info = zipfile.ZipInfo("photo.jpg")
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(InputError, match="is a symbolic link"):
        SafeZip(link)


def test_zip_bomb_is_stopped_while_reading(tmp_path):
    bomb = _zip(tmp_path / "bomb.zip", {"_chat.txt": b"\0" * (20 << 20)})
    with SafeZip(bomb) as archive, archive.open("_chat.txt") as stream:
        with pytest.raises(InputError, match="expands more than 200 times"):
            while stream.read(1 << 16):
                pass
    big = _zip(tmp_path / "big.zip", {"a.txt": os.urandom(300_000), "b.txt": os.urandom(300_000)})
    with SafeZip(big, limits=ZipLimits(max_total_bytes=500_000)) as archive:
        archive.open("a.txt").read()
        with pytest.raises(InputError, match="archive expands to more than 500000 bytes"):
            archive.open("b.txt").read()


def test_zip_media_resolve_inside_the_member_folder(tmp_path):
    path = _zip(tmp_path / "t.zip", {"export/result.json": b"{}", "export/photos/p.jpg": JPEG, "other.jpg": JPEG})
    with SafeZip(path) as archive:
        media = ZipMedia(archive, "export/result.json", "t.zip/export/result.json")
        assert media.open("photos/p.jpg").read() == JPEG
        assert media.open("photos/none.jpg") is None
        with pytest.raises(MediaRefused, match="'../other.jpg' points outside the export; refused"):
            media.open("../other.jpg")


def test_path_problem():
    assert path_problem("photos/a.jpg") is None and path_problem("./a/../b.jpg") is None
    assert path_problem("a/../../b") == "points outside the export"
    assert path_problem("") and path_problem("a\x00b")


def test_cyclic_gc_is_paused_while_records_are_read_and_restored_after(engine, store):
    states = []

    def records():  # the parser's records are read inside the load
        for n in (1, 2):
            states.append(gc.isenabled())
            yield record(n)

    blob = store.put_bytes(b"gc.json", ".json")
    with engine.begin() as conn:
        Loader(conn, store, batch_size=1).load(
            ExportInfo("gc.json", blob.sha256, blob.size, "telegram_json", blob.rel_path), records(),
            FolderMedia(store.root / "none" / "x", "gc.json"),
        )
    assert states == [False, False] and gc.isenabled() and count(engine, Message) == 2
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("a bad file")
    assert gc.isenabled()  # restored after an error too
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
