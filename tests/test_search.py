"""Full-text and contact search on SQLite (FTS5) and PostgreSQL (GIN over to_tsvector): one interface."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from detector.config import Settings
from detector.db import alembic_config, make_engine, upgrade
from detector.ingest.run import ingest_paths
from detector.search.query import search
from detector.search.terms import parse_query
from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import edit_messages, write_telegram_json

T0 = datetime(2025, 3, 7, 12, 0, tzinfo=timezone.utc)
TEXTS = [
    "للبيع بنتٌ عمرها ١٢ سنة، السعر ٣٠٠٠ دولار. تواصل 0770 555 0199",  # diacritic, Arabic-Indic digits, local phone
    "إعلان: سيارة مستعملة بحالة ممتازة",                                 # hamza alef
    "kitten for sale, write to @ali_sale or t.me/ali_sale",
    "فروش خانه در تهران، ۰۹۱۲ ۳۴۵ ۶۷۸۹",                                # Persian digits
    "nothing to see here",
]


def _ingest(engine, tmp_path: Path, messages: list[SynthMessage], name: str) -> None:
    path = tmp_path / name
    with path.open("wb") as out:
        write_telegram_json(out, "Market", 42, messages)
    settings = Settings(database_url=str(engine.url), evidence_dir=tmp_path / "evidence", actor="tester")
    summary = ingest_paths(engine, settings, [path])
    assert summary.errors == []


def _messages() -> list[SynthMessage]:
    return [SynthMessage(t, "Seller", "user1", T0 + timedelta(minutes=i)) for i, t in enumerate(TEXTS)]


def _found(engine, query: str) -> list[str]:
    with Session(engine) as s:
        ids = search(s, query)
        if not ids:
            return []
        rows = s.execute(text("SELECT id, text FROM message")).all()
    by_id = dict(rows)
    return sorted(by_id[i] for i in ids)


@pytest.fixture
def ingested(engine, tmp_path):
    _ingest(engine, tmp_path, _messages(), "first.json")
    return engine


CASES = [
    ("بنت", [0]),                      # the diacritic (tanwin) in the message is folded away
    ("12 سنه", []),                    # ta marbuta is a different letter: no false fold
    ("١٢ سنة", [0]),                   # Arabic-Indic digits in the query and the message
    ("اعلان", [1]),                    # hamza alef in the message, bare alef in the query
    ("إعلان", [1]),                    # ... and the reverse
    ("سيار", [1]),                     # a word's beginning finds it
    ("KITTEN Sale", [2]),              # case folded, words in any order
    ("@ali_sale", [2]),                # a username
    ("0912", [3]),                     # Persian digits in the message
    ("+964 770 555 0199", [0]),        # the phone as E.164 finds the local form
    ("+9647705550199", [0]),
    ("kitten tehran", []),             # every word must match
    ('" OR * : & | ! ( ) NEAR', []),   # operators of either engine are only words, never syntax
    ("!!!", []),                       # no letters or digits: nothing
]


def test_search_finds_normalised_words_and_contacts(ingested):
    found = {query: _found(ingested, query) for query, _ in CASES}
    assert found == {query: sorted(TEXTS[i] for i in expected) for query, expected in CASES}


def test_an_edit_replaces_the_indexed_words(ingested, tmp_path):
    _ingest(ingested, tmp_path, edit_messages(_messages(), {4: "puppy wanted urgently"}, T0 + timedelta(days=1)),
            "second.json")
    assert _found(ingested, "puppy") == ["puppy wanted urgently"]
    assert _found(ingested, "nothing") == []


def test_the_migration_backfills_messages_stored_before_it(db_url):
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0005")
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        rows = {
            "source": {"platform": "telegram", "chat_id": "7", "name": "Market", "type": "", "created_at": now},
            "export_file": {"sha256": "0" * 64, "name": "old.json", "size": 1, "format": "telegram_json",
                            "stored_path": "00/x.json", "ingested_at": now, "ingested_by": "", "messages_new": 1,
                            "messages_seen": 0},
            "message": {"source_id": 1, "external_id": "1", "export_file_id": 1, "kind": "message", "sent_local": "",
                        "sender_name": "", "sender_id": "", "text": "أطفال للبيع", "entities": "[]", "raw": b"{}",
                        "raw_sha256": "0" * 64, "created_at": now,
                        "signals": '[{"type": "contact", "subtype": "phone", "value": "+9647705550199"}]'},
        }
        for table, row in rows.items():
            conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)
    upgrade(engine)
    assert _found(engine, "اطفال") == ["أطفال للبيع"]
    assert _found(engine, "07705550199") == ["أطفال للبيع"]
    engine.dispose()


def test_a_query_is_cut_to_a_bounded_number_of_words():
    parsed = parse_query(" ".join(f"w{i}" for i in range(100)))
    assert len(parsed.words) == 12 and parsed.words[0] == "w0"
