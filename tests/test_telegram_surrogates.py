"""Lone surrogate escapes in Telegram JSON (`"\\ud800"`, issue 15): the bytes are kept as written, the
values read from them carry U+FFFD, and nothing crashes, in the parser and through ingest into a database."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.config import Settings
from detector.db import open_database
from detector.ingest import telegram_json
from detector.ingest.evidence import EvidenceStore
from detector.ingest.originals import original_bytes
from detector.ingest.run import ingest_paths
from detector.schema import Message, Source

# Written as Telegram would write a broken string: JSON escapes, the file itself valid UTF-8.
MESSAGE_1 = (
    r'{"id": 1, "type": "message", "date": "2024-01-01T10:00:00", "date_unixtime": "1704103200", '
    r'"from": "Ali \udc00", "from_id": "user1", "text": "girl for sale \ud800 price 500$", '
    r'"text_entities": [{"type": "plain", "text": "girl for sale \ud800 price 500$"}, {"\uDBFF": "\udfff"}]}'
)
MESSAGE_2 = (
    r'{"id": 2, "type": "message", "date": "2024-01-01T10:01:00", "date_unixtime": "1704103260", '
    r'"from": "B", "from_id": "user2", "text": ["a \udfff ", {"type": "bold", "text": "b \ud83d"}, " \ud83d\ude00"]}'
)
EXPORT = (
    '{\n "name": "Souq \\ud800 channel",\n "type": "public_channel",\n "id": 77,\n "messages": [\n  '
    + MESSAGE_1 + ",\n  " + MESSAGE_2 + "\n ]\n}\n"
).encode()


def _utf8_storable(value: object) -> bool:
    """True when the value, written as JSON, encodes as UTF-8 (a lone surrogate does not)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_parser_keeps_the_bytes_and_reads_lone_surrogates_as_replacement_characters(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(EXPORT)
    with path.open("rb") as stream:
        first, second = telegram_json.parse(stream, path.name)
    assert first.chat.name == "Souq \ufffd channel"
    assert first.text == "girl for sale \ufffd price 500$" and first.sender_name == "Ali \ufffd"
    assert first.entities == [{"type": "plain", "text": "girl for sale \ufffd price 500$"}, {"\ufffd": "\ufffd"}]
    assert second.text == "a \ufffd b \ufffd \U0001f600"  # a lone half becomes U+FFFD; a whole pair is its character
    assert second.entities[1] == {"type": "bold", "text": "b \ufffd"}
    for record, written in ((first, MESSAGE_1), (second, MESSAGE_2)):
        assert record.raw == written.encode() == EXPORT[record.offset : record.offset + len(record.raw)]
        assert all(_utf8_storable(value) for value in (record.text, record.entities, record.sender_name))


def test_ingest_stores_the_export_whole_and_derived_text_with_replacement_characters(db_url, tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(EXPORT)
    engine = open_database(db_url)
    settings = Settings(database_url=db_url, evidence_dir=tmp_path / "evidence")
    try:
        first = ingest_paths(engine, settings, [path], analyse=True)
        again = ingest_paths(engine, settings, [path], analyse=True)
        with Session(engine) as session:
            stored = session.scalars(select(Message).order_by(Message.external_id)).all()
            source = session.scalars(select(Source)).one()
            spans = [original_bytes(EvidenceStore(settings.evidence_dir), message) for message in stored]
            texts = [(m.text, m.sender_name, m.entities) for m in stored]
            analysed = [m.language is not None for m in stored]
    finally:
        engine.dispose()
    assert first.errors == [] and (first.messages_new, first.analysed) == (2, 2)
    assert again.errors == [] and (again.messages_new, again.messages_seen) == (0, 2)
    assert source.name == "Souq \ufffd channel"
    assert texts[0] == ("girl for sale \ufffd price 500$", "Ali \ufffd",
                        [{"type": "plain", "text": "girl for sale \ufffd price 500$"}, {"\ufffd": "\ufffd"}])
    assert texts[1][0] == "a \ufffd b \ufffd \U0001f600"
    assert spans == [MESSAGE_1.encode(), MESSAGE_2.encode()]  # the original escapes, byte for byte
    assert all(analysed)
