"""The schema migrates from empty on every backend and matches the ORM models."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session

from detector.db import alembic_config, is_current, make_engine, open_database, upgrade
from detector.hashing import sha256_bytes
from detector.ingest.archive import FolderMedia
from detector.ingest.evidence import EvidenceStore
from detector.ingest.load import ExportInfo, Loader
from detector.ingest.originals import original_bytes
from detector.ingest.records import ChatRecord, MessageRecord
from detector.schema import Base, Message
from detector.search.index import is_fts_table

# the FTS5 index (a virtual table and its shadow tables) is made by migration 0007, not the models
COMPARE_OPTS = {"include_name": lambda name, type_, parents: not (type_ == "table" and is_fts_table(name))}


def test_migration_from_empty_matches_models(engine):
    assert is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=COMPARE_OPTS), Base.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(engine):
    upgrade(engine)
    assert is_current(engine)


def test_sqlite_uses_wal_and_foreign_keys(sqlite_url):
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_upgrade_keeps_messages_stored_inline_before_spans(db_url, tmp_path):
    """A database at 0001 (bytes inline, rows pointing at its messages) upgrades with nothing lost or unlinked."""
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0001")
    legacy = b'{"id": 1, "text": "kitten for sale"}'
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    store = EvidenceStore(tmp_path / "evidence")
    kept = store.put_bytes(b"[" + legacy + b"]", ".json")
    with engine.begin() as conn:
        rows = {
            "source": {"platform": "telegram", "chat_id": "7", "name": "Market", "type": "", "created_at": now},
            "export_file": {"sha256": kept.sha256, "name": "old.json", "size": kept.size, "format": "telegram_json",
                            "stored_path": kept.rel_path, "ingested_at": now, "ingested_by": "", "messages_new": 1,
                            "messages_seen": 0},
            "message": {"source_id": 1, "external_id": "1", "export_file_id": 1, "kind": "message", "sent_local": "",
                        "sender_name": "", "sender_id": "", "text": "kitten for sale", "entities": "[]", "raw": legacy,
                        "raw_sha256": sha256_bytes(legacy), "created_at": now},
            "score": {"message_id": 1, "model_version": "m1", "probability": 0.1, "flagged": False, "tier": "fast",
                      "reasons": "[]", "created_at": now},
            "media": {"message_id": 1, "kind": "photo", "rel_path": "", "status": "not_included"},
        }
        for table, row in rows.items():
            conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)
    upgrade(engine)
    with engine.connect() as conn:
        assert [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in rows] == [1] * len(rows)
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        diff = compare_metadata(MigrationContext.configure(conn, opts=COMPARE_OPTS), Base.metadata)
    assert diff == []
    # a later export edits the legacy message: version 1 keeps the inline bytes, version 2 is a span
    edit = MessageRecord(ChatRecord("telegram", "7", "Market"), "1", now, "", "", "", "kitten sold",
                         raw=b'{"id": 1, "text": "kitten sold"}', offset=1, edited_at=now + timedelta(days=1))
    later = store.put_bytes(b"[" + edit.raw + b"]", ".json")
    with engine.begin() as conn:
        Loader(conn, store).load(ExportInfo("new.json", later.sha256, later.size, "telegram_json", later.rel_path),
                                 iter([edit]), FolderMedia(tmp_path / "new.json", "new.json"))
    with Session(engine) as session:
        message = session.get(Message, 1)
        assert original_bytes(store, message) == legacy and message.text == "kitten sold"
        assert [original_bytes(store, v) for v in message.history] == [legacy, edit.raw]
        assert [(v.raw is None, v.raw_offset) for v in message.history] == [(False, None), (True, 1)]
    engine.dispose()
