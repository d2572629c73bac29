"""Telegram Desktop JSON parser: hand-written real-layout fixtures, writer round trips, bad input, streaming."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ingest_fixtures import assert_spans
from telegram_support import DATA, START, CountingReader, many_messages, sample_messages

from detector.errors import ConfigError, InputError
from detector.ingest import telegram_json
from detector.ingest.records import MediaRecord, MessageRecord
from detector.synthetic.telegram import (
    edit_messages,
    photo_name,
    write_telegram_json,
)


def parse_file(path: Path, timezone: str = "UTC") -> list[MessageRecord]:
    with open(path, "rb") as stream:
        return list(telegram_json.parse(stream, str(path), timezone=timezone))


def parse_bytes(data: bytes, name: str = "result.json", **kwargs) -> list[MessageRecord]:
    return list(telegram_json.parse(io.BytesIO(data), name, **kwargs))


def written(messages, **kwargs) -> bytes:
    out = io.BytesIO()
    write_telegram_json(out, "Souq Test", 4242, messages, **kwargs)
    return out.getvalue()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_raw_exact(records: list[MessageRecord], data: bytes, objects: list[dict]) -> None:
    """Each raw is the file's own bytes of that message and decodes to the same object."""
    assert len(records) == len(objects)
    assert_spans(records, data)
    for record, obj in zip(records, objects, strict=True):
        assert record.raw.startswith(b"{") and record.raw.endswith(b"}")
        assert json.loads(record.raw) == obj


# --------------------------------------------------------------------------- hand-written fixtures


def test_single_chat_export_every_field():
    path = DATA / "single_chat" / "result.json"
    records = parse_file(path)
    assert [r.external_id for r in records] == ["1", "2", "3", "4", "5", "6", "7"]
    for record in records:
        assert (record.chat.platform, record.chat.chat_id) == ("telegram", "1234567890")
        assert (record.chat.name, record.chat.type) == ("Souq Mosul Pets & More", "public_channel")

    created, photo, entities, forward, pdf, kurdish, voice = records
    assert created.kind == "service"
    assert created.text == "create_channel: Souq Mosul Pets & More"
    assert (created.sender_name, created.sender_id) == ("Souq Mosul Pets & More", "channel1234567890")
    assert created.sent_at == utc(2017, 5, 12, 12, 0, 0)

    assert photo.kind == "message"
    assert photo.text == "قطة شيرازي للبيع، العمر ٣ أشهر، السعر 50$"
    assert photo.sent_local == "2017-05-12T12:34:56"
    assert photo.sent_at == utc(2017, 5, 12, 12, 34, 56)
    assert photo.media == [MediaRecord("photo", "photos/photo_2@12-05-2017_12-34-56.jpg", True, None)]
    assert photo.edited_at is None and photo.reply_to is None and photo.forwarded_from is None
    assert photo.entities == [{"type": "plain", "text": photo.text}]

    assert entities.text == (
        'Contact @souq_admin or see https://t.me/souq_example — "quoted" \\ backslash\nsecond line #weapons'
    )
    assert [e["type"] for e in entities.entities] == ["plain", "mention", "plain", "link", "plain", "hashtag"]
    assert entities.edited_at == utc(2017, 5, 12, 13, 15, 30)

    assert forward.forwarded_from == "Kirkuk Market {old}"
    assert forward.reply_to == "2"
    assert forward.text == ""
    assert forward.media == [MediaRecord("video", "", False, "video/mp4")]

    assert pdf.text == "price list ]}"
    assert pdf.media == [MediaRecord("file", "files/price_list.pdf", True, "application/pdf")]

    assert (kurdish.sender_name, kurdish.sender_id) == ("Hawre", "user987654321")
    assert kurdish.text == "پشیلەی جوان بۆ فرۆشتن 😀"
    assert kurdish.reply_to == "5"
    assert kurdish.media == [MediaRecord("photo", "", False, None)]

    assert voice.media == [MediaRecord("voice", "", False, "audio/ogg")]

    data = path.read_bytes()
    assert_raw_exact(records, data, json.loads(data)["messages"])


def test_full_account_export_reads_every_chat_and_left_chats():
    path = DATA / "full_account" / "result.json"
    records = parse_file(path)
    chats = [(r.chat.chat_id, r.chat.name, r.chat.type, r.external_id) for r in records]
    assert chats == [
        ("987654321", "Hawre", "personal_chat", "101"),
        ("987654321", "Hawre", "personal_chat", "102"),
        ("1555000111", "Gulf Transfers", "private_supergroup", "7"),
        ("1555000111", "Gulf Transfers", "private_supergroup", "8"),
        ("1444000222", "Old Bazaar", "public_supergroup", "55"),
    ]
    by_id = {r.external_id: r for r in records}
    assert by_id["102"].reply_to == "101"
    assert by_id["102"].sender_id == "user100000001"
    assert by_id["7"].kind == "service"
    assert by_id["7"].text == "invite_members: Layla, Omar"
    assert (by_id["7"].sender_name, by_id["7"].sender_id) == ("Amina", "user222333444")
    assert by_id["8"].sender_name == "" and by_id["8"].sender_id == "user555666777"  # deleted account: from null
    assert by_id["55"].text == "Kedi satılık, 3 aylık"
    assert by_id["55"].sent_at == utc(2019, 12, 31, 23, 59, 59)

    data = path.read_bytes()
    export = json.loads(data)
    objects = [m for section in ("chats", "left_chats") for chat in export[section]["list"] for m in chat["messages"]]
    assert_raw_exact(records, data, objects)


def test_old_2018_export_local_dates_integer_ids_and_epoch_edit_marker():
    path = DATA / "old_2018" / "result.json"
    records = parse_file(path, timezone="Asia/Baghdad")  # UTC+3 all year since 2008
    first, second, joined = records
    assert first.chat.chat_id == "1098765432"
    assert first.sent_local == "2018-03-04T15:20:00"
    assert first.sent_at == utc(2018, 3, 4, 12, 20, 0)
    assert first.sender_id == "445566778"
    assert first.edited_at is None  # "1970-01-01T01:00:00" means never edited
    assert first.entities == []

    assert second.edited_at == utc(2018, 3, 4, 12, 40, 0)
    assert second.text == "Call +964 750 000 0000 today"
    assert second.entities == [
        {"type": "plain", "text": "Call "},
        {"type": "phone", "text": "+964 750 000 0000"},
        {"type": "plain", "text": " today"},
    ]
    assert second.media == [MediaRecord("photo", "photos/photo_11@04-03-2018_15-25-10.jpg", True, None)]
    assert second.reply_to == "10"

    assert joined.kind == "service"
    assert (joined.text, joined.sender_name, joined.sender_id) == ("join_group_by_link", "Dilan", "112233445")

    in_utc = parse_file(path)
    assert in_utc[0].sent_at == utc(2018, 3, 4, 15, 20, 0)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000])
def test_chunk_boundaries_anywhere_give_identical_records(monkeypatch, chunk):
    """Multi-byte characters, numbers and escapes split across reads change nothing."""
    expected = {p: parse_file(DATA / p / "result.json") for p in ("single_chat", "full_account", "old_2018")}
    monkeypatch.setattr(telegram_json, "CHUNK", chunk)
    for folder, records in expected.items():
        assert parse_file(DATA / folder / "result.json") == records
        assert_spans(records, (DATA / folder / "result.json").read_bytes())


def test_offsets_count_a_byte_order_mark_and_multibyte_text():
    data = (DATA / "full_account" / "result.json").read_bytes()
    assert len(data) > len(data.decode("utf-8"))  # the fixture has non-ASCII text
    records = parse_bytes(b"\xef\xbb\xbf" + data)
    assert_spans(records, b"\xef\xbb\xbf" + data)
    assert [r.offset for r in records] == [r.offset + 3 for r in parse_bytes(data)]


# --------------------------------------------------------------------------- writer round trips


@pytest.mark.parametrize("full_account", [False, True])
def test_round_trip_through_the_writer(tmp_path, full_account):
    messages = sample_messages()
    with open(tmp_path / "result.json", "wb") as out:
        count = write_telegram_json(out, "Souq Test", 4242, messages, full_account=full_account, photo_dir=tmp_path)
    assert count == len(messages)
    data = (tmp_path / "result.json").read_bytes()
    export = json.loads(data)
    records = parse_file(tmp_path / "result.json")
    assert len(records) == len(messages)
    for index, (record, message) in enumerate(zip(records, messages, strict=True)):
        assert record.external_id == str(index + 1)
        assert (record.chat.chat_id, record.chat.name, record.chat.type) == ("4242", "Souq Test", "public_channel")
        assert record.sent_at == message.sent_at
        assert record.sent_local == message.sent_at.strftime("%Y-%m-%dT%H:%M:%S")
        assert record.sender_name == message.sender_name
        assert record.sender_id == message.sender_id
        assert record.edited_at == message.edited_at
        assert record.forwarded_from == message.forwarded_from
        assert record.reply_to == (None if message.reply_to is None else str(message.reply_to + 1))
        assert record.kind == ("service" if message.service else "message")
        if not message.service:
            assert record.text == message.text
            assert "".join(e["text"] for e in record.entities) == message.text
        if message.photo is None:
            assert record.media == []
        else:
            rel = photo_name(index + 1, message.sent_at)
            assert record.media == [MediaRecord("photo", rel, True, None)]
            assert (tmp_path / rel).read_bytes() == message.photo
    assert records[0].text == "create_channel: Souq Test"
    assert records[5].text == "join_group_by_link"
    assert [e["type"] for e in records[2].entities] == ["plain", "link", "plain", "mention", "plain", "hashtag", "plain"]
    chat = export["chats"]["list"][0] if full_account else export
    assert chat["messages"][1]["width"] == 16 and chat["messages"][1]["height"] == 12
    assert_raw_exact(records, data, chat["messages"])


def test_writer_layout_matches_telegram_pretty_print():
    data = written(sample_messages()[:2])
    text = data.decode()
    assert text.startswith('{\n "name": "Souq Test",\n "type": "public_channel",\n "id": 4242,\n "messages": [\n  {\n   "id": 1,')
    assert '   "text": "قطة للبيع، العمر ٣ أشهر، السعر 50$",\n' in text  # UTF-8, not \\u escapes
    assert '"photo": "(File not included. Change data exporting settings to download.)"' in text
    assert text.endswith("\n  }\n ]\n}\n")
    assert written([]).decode().endswith('"messages": []\n}\n')
    assert json.loads(written([], full_account=True))["chats"]["list"][0]["messages"] == []


def test_photos_without_photo_dir_are_not_included_placeholders():
    records = parse_bytes(written(sample_messages()))
    assert records[1].media == [MediaRecord("photo", "", False, None)]


def test_old_format_writer_round_trip_in_a_local_time_zone():
    messages = sample_messages()
    data = written(messages, old_format=True, timezone="Asia/Tehran")
    export = json.loads(data)
    assert "date_unixtime" not in data.decode() and "text_entities" not in data.decode()
    assert export["messages"][1]["from_id"] == 4242
    assert export["messages"][1]["edited"] == "1970-01-01T00:00:00"
    records = parse_bytes(data, timezone="Asia/Tehran")
    assert [r.sent_at for r in records] == [m.sent_at for m in messages]
    assert [r.edited_at for r in records] == [m.edited_at for m in messages]
    assert records[3].sender_id == "777"
    assert records[2].text == messages[2].text


def test_an_edited_later_export_keeps_ids_and_changes_text():
    messages = sample_messages()
    edited_at = START + timedelta(days=3)
    later = edit_messages(messages, {3: "پشیلە فرۆشرا"}, edited_at) + list(many_messages(2))
    first, second = parse_bytes(written(messages)), parse_bytes(written(later))
    assert [r.external_id for r in second[: len(first)]] == [r.external_id for r in first]
    assert [r.external_id for r in second[len(first) :]] == ["9", "10"]
    assert second[3].text == "پشیلە فرۆشرا" and second[3].edited_at == edited_at
    assert first[3].text == messages[3].text and first[3].edited_at is None
    assert second[3].raw != first[3].raw
    assert [r.raw for i, r in enumerate(second[: len(first)]) if i != 3] == [r.raw for i, r in enumerate(first) if i != 3]


# --------------------------------------------------------------------------- streaming


def test_parse_is_lazy_and_reads_the_stream_in_chunks():
    data = written(many_messages(8000))
    assert len(data) > 3 * telegram_json.CHUNK
    stream = CountingReader(data)
    records = telegram_json.parse(stream, "big.json")
    first = next(records)
    assert first.external_id == "1"
    assert stream.consumed <= telegram_json.CHUNK
    assert sum(1 for _ in records) == 7999


def test_peak_memory_does_not_grow_with_file_size(tmp_path, monkeypatch):
    """With 64 KB reads, a 9 MB export parses within a small fraction of its size."""
    monkeypatch.setattr(telegram_json, "CHUNK", 64 * 1024)
    path = tmp_path / "result.json"
    with open(path, "wb") as out:
        write_telegram_json(out, "Big", 1, many_messages(20_000))
    size = path.stat().st_size
    assert size > 9_000_000
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            count = sum(1 for _ in telegram_json.parse(stream, str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 1_500_000, f"peak {peak:,} bytes for a {size:,}-byte file"


# --------------------------------------------------------------------------- bad input


def _export(messages: str) -> bytes:
    return ('{\n "name": "X",\n "type": "public_channel",\n "id": 5,\n "messages": [' + messages + "]\n}\n").encode()


GOOD = '{"id": 1, "type": "message", "date": "2020-01-01T00:00:00", "date_unixtime": "1577836800", "from": "A", "from_id": "user1", "text": "hi"}'
FULL = written(sample_messages())

BAD_INPUTS = {
    "empty": (b"", "empty file"),
    "blank": (b"  \n\t ", "empty file"),
    "a JSON list": (b'[{"id": 1}]', "the JSON is a list"),
    "a number": (b"42", "does not start with a JSON object"),
    "plain text": (b"hello there", "does not start with a JSON object"),
    "no messages": (b'{"name": "X", "id": 5, "members": []}', 'no "messages" list'),
    "messages not a list": (b'{"name": "X", "id": 5, "messages": {"id": 1}}', "are not a list"),
    "messages before id": (b'{"name": "X", "messages": []}', 'comes before its "id"'),
    "truncated in a message": (FULL[: FULL.index(b'"id": 4,') + 5], "file ends early: the JSON stops inside the messages list (after 3 messages)"),
    "truncated in a string": (FULL[: FULL.index("للبيع".encode())], "file ends early: the JSON stops inside the messages list (after 1 message)"),
    "truncated after a message": (FULL[: FULL.index(b'"id": 3,') - 8], "file ends early: the JSON stops inside the messages list (after 2 messages)"),
    "truncated in the header": (FULL[:30], "file ends early: the JSON stops inside the export"),
    "truncated after the list": (FULL.rstrip()[:-1], "file ends early"),
    "truncated after the messages key": (FULL[: FULL.index(b'"messages":') + 11], "file ends early: the JSON stops inside the export"),
    "truncated after the messages key of a chat without id": (b'{"name": "X", "messages": ', "file ends early"),
    "invalid UTF-8": (_export(GOOD).replace(b'"hi"', b'"h\xff"'), "invalid UTF-8 near byte"),
    "cut multi-byte character at the end": (b'{"name": "' + "ع".encode()[:1], "file ends early"),
    "cut multi-byte character in a message": (FULL[: FULL.index("للبيع".encode()) + 1], "file ends early: the JSON stops inside the messages list (after 1 message)"),
    "syntax error mid-list": (_export(GOOD + ", " + GOOD.replace('"text":', '"text"')), "malformed JSON in the messages list after 1 message: Expecting ':' delimiter"),
    "missing comma between messages": (_export(GOOD + " " + GOOD), "malformed JSON in the messages list after 1 message"),
    "a message that is no object": (_export(GOOD + ", 7"), "message 2 is not a JSON object"),
    "a message without id": (_export(GOOD.replace('"id": 1, ', "")), "message 1 of chat 5 is malformed (KeyError: 'id')"),
    "a message with a bad date": (_export(GOOD.replace('"date_unixtime": "1577836800", ', "").replace("2020-01-01T00:00:00", "yesterday")), "message 1 of chat 5 is malformed (ValueError"),
    "nested too deeply": (b'{"id": 1, "messages": [' + b"[" * 100_000, "values nested too deeply"),
    "data after the export": (FULL + b"{}", "unexpected data after the end of the export"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_input_error_naming_the_file(case):
    data, problem = BAD_INPUTS[case]
    name = f"inbox/{case.replace(' ', '_')}.json"
    with pytest.raises(InputError) as caught:
        parse_bytes(data, name)
    assert caught.value.path == name
    assert str(caught.value).startswith(f"{name}: ")
    assert problem in caught.value.problem


def test_invalid_utf8_deep_in_a_large_file_is_reported(monkeypatch):
    monkeypatch.setattr(telegram_json, "CHUNK", 4096)
    data = bytearray(written(many_messages(500)))
    spot = data.index(b'"id": 400,')
    data[spot + 12 : spot + 13] = b"\xc0"
    with pytest.raises(InputError, match=r"invalid UTF-8 near byte"):
        parse_bytes(bytes(data), "deep.json")


def test_unknown_time_zone_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        parse_bytes(FULL, timezone="Mars/Olympus")
