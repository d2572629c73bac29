"""Telegram Desktop HTML parser: a hand-written two-page export, writer round trips, bad input, streaming."""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ingest_fixtures import assert_spans
from telegram_support import DATA, CountingReader, many_messages, sample_messages

from detector.errors import InputError
from detector.ingest import telegram_html, telegram_json
from detector.ingest.records import MediaRecord, MessageRecord
from detector.synthetic.telegram import (
    photo_name,
    write_telegram_html,
    write_telegram_json,
)

PAGES = DATA / "html_export"
CHAT = "name:Souq Mosul Pets & More"


def parse_file(path: Path, timezone: str = "UTC") -> list[MessageRecord]:
    with open(path, "rb") as stream:
        return list(telegram_html.parse(stream, str(path), timezone=timezone))


def parse_pages(paths: list[Path], timezone: str = "UTC") -> list[MessageRecord]:
    return [record for path in paths for record in parse_file(path, timezone)]


def parse_bytes(data: bytes, name: str = "messages.html") -> list[MessageRecord]:
    return list(telegram_html.parse(io.BytesIO(data), name))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_raw_exact(records: list[MessageRecord], data: bytes) -> None:
    """Each raw is the file's own bytes of one whole `<div class="message ...">` element, in order."""
    assert_spans(records, data)
    for record in records:
        assert record.raw.startswith(b'<div class="message ')
        assert f'id="message{record.external_id}"'.encode() in record.raw[:80]
        assert record.raw.endswith(b"</div>")
        assert record.raw.count(b"<div") == record.raw.count(b"</div>")


# --------------------------------------------------------------------------- hand-written fixture


def test_first_page_every_field():
    path = PAGES / "messages.html"
    records = parse_file(path, timezone="Asia/Baghdad")
    assert [r.external_id for r in records] == ["1", "2", "3", "4", "5"]  # the date separator is skipped
    assert {(r.chat.platform, r.chat.chat_id, r.chat.name) for r in records} == {
        ("telegram", CHAT, "Souq Mosul Pets & More")
    }
    created, photo, joined, forwarded, placeholder = records

    assert created.kind == "service"
    assert created.text == "Channel «Souq Mosul Pets & More» created"

    assert photo.kind == "message"
    assert (photo.sender_name, photo.sender_id) == ("Souq Mosul Pets & More", "name:Souq Mosul Pets & More")
    assert photo.sent_local == "12.05.2017 12:34:56"
    assert photo.sent_at == utc(2017, 5, 12, 9, 34, 56)  # no offset in the title: read in Asia/Baghdad
    assert photo.text == "قطة شيرازي للبيع، العمر ٣ أشهر، السعر 50$"
    assert photo.media == [MediaRecord("photo", "photos/photo_2@12-05-2017_12-34-56.jpg", True)]

    assert joined.sender_name == "Souq Mosul Pets & More"  # joined: inherits the previous sender
    assert joined.sent_local == "12.05.2017 13:10:00 UTC+03:00"
    assert joined.sent_at == utc(2017, 5, 12, 10, 10, 0)
    assert joined.text == (
        'Contact @souq_admin or see https://t.me/souq_example — "quoted" <div>\nsecond line #weapons'
    )
    assert joined.entities == [
        {"type": "mention", "text": "@souq_admin"},
        {"type": "link", "text": "https://t.me/souq_example", "href": "https://t.me/souq_example"},
        {"type": "hashtag", "text": "#weapons"},
    ]

    assert forwarded.sender_name == "Hawre"
    assert forwarded.forwarded_from == "Kirkuk Market"
    assert forwarded.reply_to == "2"
    assert forwarded.text == "Two kittens, vaccinated"
    assert forwarded.entities == [{"type": "bold", "text": "vaccinated"}]
    assert forwarded.media == []

    assert placeholder.sender_name == "Hawre"
    assert placeholder.text == "پشیلەی جوان بۆ فرۆشتن"
    assert placeholder.media == [MediaRecord("photo", "", included=False)]
    assert all(r.edited_at is None for r in records)
    assert_raw_exact(records, path.read_bytes())


def test_second_page_every_field():
    path = PAGES / "messages2.html"
    records = parse_file(path)
    assert [r.external_id for r in records] == ["6", "7", "8", "9"]
    assert {r.chat.chat_id for r in records} == {CHAT}  # the same chat as page 1
    document, voice, joined_group, after_service = records

    assert document.sender_name == "Hawre"
    assert document.reply_to == "2"  # a reply to a message on the previous page
    assert document.media == [MediaRecord("file", "files/price_list.pdf", True)]
    assert document.text == "price list"
    assert document.sent_at == utc(2017, 5, 13, 6, 5, 0)

    assert voice.sender_name == "Hawre"
    assert voice.text == ""
    assert voice.media == [MediaRecord("voice", "", included=False)]

    assert joined_group.kind == "service"
    assert joined_group.text == "Dilan joined group by link"
    assert joined_group.sent_at is None

    # a service line ends a joined run (Telegram never joins across one): no sender to inherit
    assert after_service.sender_name == "" and after_service.sender_id == ""
    assert after_service.sent_at == utc(2017, 5, 13, 12, 0, 0)  # UTC-02:30
    assert_raw_exact(records, path.read_bytes())


def test_joined_message_opening_a_page_has_no_sender():
    """Documented limit: pages are parsed on their own."""
    page = (PAGES / "messages.html").read_bytes()
    start = page.index(b'<div class="message default clearfix joined" id="message3">')
    end = page.index(b'<div class="message default clearfix" id="message4">')
    history = page.index(b'<div class="history">') + len(b'<div class="history">')
    only_joined = page[:history] + b"\n" + page[start:end] + b"\n</div></div></div></body></html>"
    [record] = parse_bytes(only_joined)
    assert record.external_id == "3" and record.sender_name == ""


@pytest.mark.parametrize("chunk", [1, 5, 64, 4096])
def test_chunk_boundaries_anywhere_give_identical_records(monkeypatch, chunk):
    expected = [parse_file(PAGES / name) for name in ("messages.html", "messages2.html")]
    monkeypatch.setattr(telegram_html, "CHUNK", chunk)
    assert [parse_file(PAGES / name) for name in ("messages.html", "messages2.html")] == expected
    for name, records in zip(("messages.html", "messages2.html"), expected, strict=True):
        assert_spans(records, (PAGES / name).read_bytes())


# --------------------------------------------------------------------------- writer round trips


def test_round_trip_through_the_writer_over_several_pages(tmp_path):
    messages = sample_messages()
    pages = write_telegram_html(tmp_path, "Souq Test", messages, per_page=3)
    assert [p.name for p in pages] == ["messages.html", "messages2.html", "messages3.html"]
    records = parse_pages(pages)
    assert [r.external_id for r in records] == [str(i + 1) for i in range(len(messages))]
    for index, (record, message) in enumerate(zip(records, messages, strict=True)):
        assert record.chat.chat_id == "name:Souq Test"
        assert record.kind == ("service" if message.service else "message")
        assert record.text == message.text
        if message.service:
            continue
        assert record.sender_name == message.sender_name
        assert record.sent_at == message.sent_at
        assert record.sent_local == message.sent_at.strftime("%d.%m.%Y %H:%M:%S UTC+00:00")
        assert record.forwarded_from == message.forwarded_from
        assert record.reply_to == (None if message.reply_to is None else str(message.reply_to + 1))
        if message.photo is None:
            assert record.media == []
        else:
            rel = photo_name(index + 1, message.sent_at)
            assert record.media == [MediaRecord("photo", rel, True)]
            assert (tmp_path / rel).read_bytes() == message.photo
    html = pages[0].read_bytes().decode()
    assert 'class="message default clearfix joined" id="message3"' in html  # same sender, 2 minutes later
    assert "&lt;b&gt;&amp;" in pages[0].read_text()
    assert 'href="messages2.html"' in html
    assert 'href="messages.html#go_to_message3" onclick="return GoToMessage(3)"' in pages[2].read_text()
    for page in pages:
        assert_raw_exact(parse_file(page), page.read_bytes())


def test_old_date_titles_are_read_in_the_given_time_zone(tmp_path):
    messages = [m for m in sample_messages() if not m.service]
    pages = write_telegram_html(tmp_path, "Souq Test", messages, with_offset=False, timezone="Asia/Tehran")
    records = parse_pages(pages, timezone="Asia/Tehran")
    assert "UTC" not in records[0].sent_local
    assert [r.sent_at for r in records] == [m.sent_at for m in messages]


def test_photos_not_included(tmp_path):
    pages = write_telegram_html(tmp_path, "Souq Test", sample_messages(), include_photos=False)
    records = parse_pages(pages)
    assert records[1].media == [MediaRecord("photo", "", included=False)]
    assert not (tmp_path / "photos").exists()


def test_html_and_json_exports_of_one_channel_agree(tmp_path):
    """Same ids, texts, senders, times, replies and forwards from both export formats."""
    messages = [m for m in sample_messages() if not m.service] + list(many_messages(30))
    with open(tmp_path / "result.json", "wb") as out:
        write_telegram_json(out, "Souq Test", 4242, messages, photo_dir=tmp_path / "json")
    pages = write_telegram_html(tmp_path / "html", "Souq Test", messages, per_page=10)
    with open(tmp_path / "result.json", "rb") as stream:
        from_json = list(telegram_json.parse(stream, "result.json"))
    from_html = parse_pages(pages)

    def view(r: MessageRecord) -> tuple:
        return (r.external_id, r.text, r.sender_name, r.sent_at, r.reply_to, r.forwarded_from,
                [(m.kind, m.rel_path) for m in r.media])

    assert [view(r) for r in from_html] == [view(r) for r in from_json]


def test_an_empty_chat_is_one_valid_page_without_messages(tmp_path):
    [page] = write_telegram_html(tmp_path, "Quiet", [])
    assert page.name == "messages.html"
    assert parse_file(page) == []


def test_writer_joins_only_close_messages_of_one_sender(tmp_path):
    base = sample_messages()[2]
    later = [base, base, type(base)(**{**{f: getattr(base, f) for f in base.__slots__},
                                       "sent_at": base.sent_at + timedelta(minutes=20)})]
    [page] = write_telegram_html(tmp_path, "Souq Test", later)
    text = page.read_text()
    assert text.count("clearfix joined") == 1
    assert [r.sender_name for r in parse_file(page)] == ["Souq Test"] * 3


# --------------------------------------------------------------------------- streaming


def test_large_page_streams_with_bounded_memory(tmp_path, monkeypatch):
    """With 16 KB reads, a 1.3 MB page parses within a small fraction of its size."""
    [page] = write_telegram_html(tmp_path, "Big", many_messages(2000), per_page=2000)
    size = page.stat().st_size
    assert size > 1_200_000
    stream = CountingReader(page.read_bytes())
    records = telegram_html.parse(stream, "messages.html")
    assert next(records).external_id == "1"
    assert stream.consumed <= telegram_html.CHUNK
    monkeypatch.setattr(telegram_html, "CHUNK", 16 * 1024)
    tracemalloc.start()
    try:
        with open(page, "rb") as handle:
            count = sum(1 for _ in telegram_html.parse(handle, str(page)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 300_000, f"peak {peak:,} bytes for a {size:,}-byte page"


# --------------------------------------------------------------------------- bad input

FIRST_PAGE = (PAGES / "messages.html").read_bytes()
BAD_INPUTS = {
    "empty": (b"", "empty file"),
    "a web page": (b"<!DOCTYPE html><html><head><title>News</title></head><body><div class=\"main\">Hi</div></body></html>",
                   'not a Telegram HTML export: no <div class="history">'),
    "plain text": (b"12/9/20, 23:55 - Name: text\n", 'not a Telegram HTML export'),
    "history without header": (b'<html><body><div class="history"></div></body></html>', "no page header"),
    "truncated inside a message": (FIRST_PAGE[: FIRST_PAGE.index(b"Two kittens")], "truncated HTML: the file ends inside a message"),
    "invalid UTF-8 in a message": (FIRST_PAGE.replace("قطة".encode(), b"\xff\xfe"), "invalid UTF-8"),
    "message without an id": (FIRST_PAGE.replace(b' id="message2"', b""), "a message element has no usable id"),
    "unreadable date": (FIRST_PAGE.replace(b'title="12.05.2017 12:34:56"', b'title="yesterday"'), "unreadable message date 'yesterday'"),
    "impossible date": (FIRST_PAGE.replace(b'title="12.05.2017 12:34:56"', b'title="31.02.2017 12:34:56"'), "impossible message date '31.02.2017 12:34:56'"),
    "impossible offset": (FIRST_PAGE.replace(b"13:10:00 UTC+03:00", b"13:10:00 UTC+99:00"), "impossible message date"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_input_error_naming_the_file(case):
    data, problem = BAD_INPUTS[case]
    name = f"inbox/{case.replace(' ', '_')}.html"
    with pytest.raises(InputError) as caught:
        parse_bytes(data, name)
    assert caught.value.path == name
    assert str(caught.value).startswith(f"{name}: ")
    assert problem in caught.value.problem
