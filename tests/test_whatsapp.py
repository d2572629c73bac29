"""WhatsApp text exports: hand-written fixtures that mirror real exports, and round trips in every locale."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ingest_fixtures import assert_spans

from detector.errors import ConfigError, InputError
from detector.ingest import whatsapp_calendar
from detector.ingest.records import MediaRecord, MessageRecord
from detector.synthetic.messages import SynthMessage
from detector.synthetic.whatsapp import (
    LOCALES,
    render,
    write_whatsapp_txt,
    write_whatsapp_zip,
)
from detector.ingest.whatsapp import chat_name, looks_like_whatsapp, parse

DATA = Path(__file__).parent / "data" / "whatsapp"
LRM, RLM, LRE, PDF, NNBSP, ZWNJ = "\u200e", "\u200f", "\u202a", "\u202c", "\u202f", "\u200c"


def parse_fixture(rel: str, timezone: str = "UTC") -> list[MessageRecord]:
    with open(DATA / rel, "rb") as stream:
        return list(parse(stream, rel, timezone=timezone))


def parse_bytes(data: bytes, name: str = "WhatsApp Chat with Test.txt", timezone: str = "UTC") -> list[MessageRecord]:
    return list(parse(io.BytesIO(data), name, timezone=timezone))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def assert_raws_rebuild_file(records: list[MessageRecord], rel: str) -> None:
    data = (DATA / rel).read_bytes()
    assert b"".join(r.raw for r in records) == data.removeprefix(b"\xef\xbb\xbf")
    assert_spans(records, data)


# --- fixtures mirroring real exports -------------------------------------------------------


def test_android_english_us_month_first_12h_with_narrow_space():
    rel = "WhatsApp Chat with Kitten Market.txt"
    records = parse_fixture(rel, timezone="Asia/Baghdad")
    assert [r.kind for r in records] == ["service"] * 4 + ["message"] * 4
    assert {r.chat.chat_id for r in records} == {"name:Kitten Market"}
    assert records[0].chat.platform == "whatsapp" and records[0].chat.name == "Kitten Market"
    notice, created, added, joined = records[:4]
    assert notice.text.startswith("Messages and calls are end-to-end encrypted.")
    assert created.text == 'Omar created group "Kitten Market"'
    assert added.text == "Omar added +1 415 555 0132"
    assert joined.text == "Lina joined using this group's invite link"
    assert (notice.sender_name, notice.sender_id) == ("", "")

    listing = records[4]
    assert listing.sender_name == "Omar" and listing.sender_id == "Omar"
    assert listing.text == "Persian kitten, 3 months old, 150 USD\nPickup in Erbil\ncall +1 415 555 0132"
    assert listing.sent_local == f"9/12/20, 11:55{NNBSP}PM"
    assert listing.sent_at == utc(2020, 9, 12, 20, 55)  # Baghdad is UTC+3
    assert listing.raw == (
        f"9/12/20, 11:55{NNBSP}PM - Omar: Persian kitten, 3 months old, 150 USD\n"
        "Pickup in Erbil\ncall +1 415 555 0132\n"
    ).encode()
    assert listing.media == []

    omitted = records[5]
    assert omitted.sender_name == "+1 415 555 0132" and omitted.sender_id == "+14155550132"
    assert omitted.text == "<Media omitted>"
    assert omitted.media == [MediaRecord(kind="other", rel_path="", included=False)]
    assert omitted.sent_at == utc(2020, 9, 12, 21, 5)  # 12:05 AM on 13 September, local

    photo = records[6]
    assert photo.media == [MediaRecord(kind="photo", rel_path="IMG-20200913-WA0003.jpg", included=True)]
    assert photo.text == "IMG-20200913-WA0003.jpg (file attached)\ngrey one still available?"

    reply = records[7]
    assert (reply.sender_name, reply.text) == ("Omar", "yes: still here")
    assert reply.sent_at == utc(2020, 9, 13, 10, 15)  # 1:15 PM local
    assert_raws_rebuild_file(records, rel)


def test_ios_english_uk_day_first_24h_crlf_and_marked_lines():
    rel = "WhatsApp Chat - Phone Bazaar/_chat.txt"
    records = parse_fixture(rel)
    assert {r.chat.name for r in records} == {"Phone Bazaar"}
    assert [r.kind for r in records] == ["service", "service", "message", "message", "message", "message"]
    notice, created, listing, attached, omitted, question = records
    assert notice.sender_name == "Phone Bazaar"
    assert notice.text.startswith(LRM + "Messages and calls are end-to-end encrypted.")
    assert created.text == f"{LRM}Karim created group “Phone Bazaar”"
    assert listing.sent_local == "12/09/2020, 23:56:10"
    assert listing.sent_at == utc(2020, 9, 12, 23, 56, 10)
    assert listing.text == "Used phone, 64 GB, 120 USD"
    assert listing.raw == b"[12/09/2020, 23:56:10] Karim: Used phone, 64 GB, 120 USD\r\n"
    assert attached.media == [
        MediaRecord(kind="photo", rel_path="00000004-PHOTO-2020-09-13-08-02-33.jpg", included=True)
    ]
    assert attached.raw.startswith(LRM.encode()) and attached.sent_at == utc(2020, 9, 13, 8, 2, 33)
    assert omitted.media == [MediaRecord(kind="photo", rel_path="", included=False)]
    assert omitted.sender_name == "Dana"
    assert question.text == "Is it unlocked?\r\nAny scratches?"
    assert_raws_rebuild_file(records, rel)


def test_android_arabic_digits_arabic_comma_marks_and_am_pm_letters():
    rel = "WhatsApp Chat with سوق الموصل.txt"
    records = parse_fixture(rel, timezone="Asia/Baghdad")
    assert records[0].chat.name == "سوق الموصل"
    assert [r.kind for r in records] == ["service", "message", "message", "message"]
    listing = records[1]
    assert listing.sender_name == "+964 770 123 4567"  # the LRE ... PDF wrapping is not part of the name
    assert listing.sender_id == "+9647701234567"
    assert listing.text == "قطط للبيع، العمر شهرين\nالسعر ١٠٠ دولار"
    assert listing.sent_local == f"١٠{RLM}/٩{RLM}/٢٠٢٠، ٩:٠٧ م"
    assert listing.sent_at == utc(2020, 9, 10, 18, 7)  # 9:07 PM Baghdad; no day above 12: RTL locale, day first
    photo, omitted = records[2:]
    assert photo.sender_name == "أبو علي"
    assert photo.sent_at == utc(2020, 9, 11, 4, 30)  # ٧:٣٠ ص is 7:30 AM
    assert photo.media == [MediaRecord(kind="photo", rel_path="IMG-20200911-WA0000.jpg", included=True)]
    assert omitted.media == [MediaRecord(kind="other", rel_path="", included=False)]
    assert_raws_rebuild_file(records, rel)  # the UTF-8 BOM is accepted and belongs to no message


def test_android_german():
    rel = "WhatsApp Chat mit Flohmarkt.txt"
    records = parse_fixture(rel, timezone="Europe/Berlin")
    assert records[0].chat.name == "Flohmarkt"
    assert [r.kind for r in records] == ["service", "service", "message", "message", "message"]
    assert records[1].text == "Jonas hat Mia hinzugefügt"
    bike = records[2]
    assert (bike.sender_name, bike.text, bike.sent_local) == ("Jonas", "Fahrrad, 28 Zoll, 90 EUR", "01.10.21, 09:20")
    assert bike.sent_at == utc(2021, 10, 1, 7, 20)  # CEST is UTC+2
    assert records[3].media == [MediaRecord(kind="photo", rel_path="IMG-20211002-WA0001.jpg", included=True)]
    assert records[4].media == [MediaRecord(kind="other", rel_path="", included=False)]


def test_android_turkish_without_comma():
    rel = "WhatsApp Sohbeti - Pazar.txt"
    records = parse_fixture(rel, timezone="Europe/Istanbul")
    assert records[0].chat.name == "Pazar"
    kitten, photo, omitted = records[1:]
    assert (kitten.sender_name, kitten.sent_local) == ("Ali Veli", "08.10.2021 14:06")
    assert kitten.sent_at == utc(2021, 10, 8, 11, 6)
    assert photo.text == "IMG-20211008-WA0001.jpg (dosya ekli)\nfiyat 500 TL"
    assert photo.media[0].rel_path == "IMG-20211008-WA0001.jpg"
    assert omitted.sender_name == "Ayşe" and omitted.media[0].included is False


def test_ios_persian_solar_hijri_dates_and_zwnj_kept():
    rel = "persian_ios_chat.txt"
    records = parse_fixture(rel, timezone="Asia/Tehran")
    assert [r.kind for r in records] == ["service", "message", "message"]
    offer = records[1]
    assert offer.sender_name == "رضا"
    assert offer.text == f"گربه{ZWNJ}ی ایرانی می{ZWNJ}فروشم، ۲ ماهه"
    assert offer.text.count(ZWNJ) == 2
    assert offer.sent_local == f"۱۳۹۹{RLM}/۶{RLM}/۲۲، ۲۳:۵۶:۱۰"
    assert offer.sent_at == utc(2020, 9, 12, 19, 26, 10)  # 22 Shahrivar 1399, Tehran UTC+4:30 then
    assert records[2].media == [
        MediaRecord(kind="photo", rel_path="00000003-PHOTO-2020-09-13-08-00-00.jpg", included=True)
    ]


def test_solar_hijri_conversion_both_ways():
    assert whatsapp_calendar.to_gregorian(1399, 1, 1) == datetime(2020, 3, 20).date()
    assert whatsapp_calendar.to_gregorian(1400, 1, 1) == datetime(2021, 3, 21).date()
    assert whatsapp_calendar.to_gregorian(1403, 12, 30) == datetime(2025, 3, 20).date()
    day = datetime(2019, 1, 1).date()
    for _ in range(2000):
        assert whatsapp_calendar.to_gregorian(*whatsapp_calendar.from_gregorian(day)) == day
        day += timedelta(days=1)
    with pytest.raises(ValueError):
        whatsapp_calendar.to_gregorian(1402, 12, 30)  # 1402 is not a leap year


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("3/6/18, 1:55 p.m. - a: m", utc(2018, 6, 3, 13, 55)),
        ("03-06-2018, 01.55 PM - a: m", utc(2018, 6, 3, 13, 55)),
        ("13.6.2018 klo 21.25.15 - a: m", utc(2018, 6, 13, 21, 25, 15)),
        ("[13. 6. 2018. 21:25:15] a: m", utc(2018, 6, 13, 21, 25, 15)),
        ("12/09/2020 à 23:55 - a: m", utc(2020, 9, 12, 23, 55)),
        ("2020-09-12, 23:55 - a: m", utc(2020, 9, 12, 23, 55)),
        ("12/9/20, 11:55 p. m. - a: m", utc(2020, 9, 12, 23, 55)),
        ("[12.09.20, 11:55:01 ÖS] a: m", utc(2020, 9, 12, 23, 55, 1)),
        ("[١٢\u200f/٩\u200f/٢٠٢٠، ١١:٥٥:٠١ ص] a: m", utc(2020, 9, 12, 11, 55, 1)),
        ("۱۲/۹/۲۰۲۰، ۱۱:۵۵ ب.ظ - a: m", utc(2020, 9, 12, 23, 55)),
        ("12/9/20, 12:10\u202fAM - a: m", utc(2020, 12, 9, 0, 10)),  # US style: month first
    ],
)
def test_date_and_clock_variants(line: str, expected: datetime):
    (record,) = parse_bytes(line.encode() + b"\n")
    assert record.sent_at == expected
    assert (record.sender_name, record.text) == ("a", "m")


def test_arabic_android_with_latin_digits():
    (record,) = parse_bytes("1/5/2025، 09:17 - +212 616-465609: <تم استبعاد الوسائط>\n".encode())
    assert record.sent_at == utc(2025, 5, 1, 9, 17)  # the Arabic comma makes it day first
    assert (record.sender_name, record.sender_id) == ("+212 616-465609", "+212616465609")
    assert record.media == [MediaRecord(kind="other", rel_path="", included=False)]


def test_date_order_is_decided_per_file():
    day_first = parse_bytes(b"1/2/20, 10:00 - a: x\n13/2/20, 10:00 - a: y\n")
    assert day_first[0].sent_at == utc(2020, 2, 1, 10)
    month_first = parse_bytes(b"1/2/20, 10:00 - a: x\n1/13/20, 10:00 - a: y\n")
    assert month_first[0].sent_at == utc(2020, 1, 2, 10)
    us_hint = parse_bytes(b"1/2/20, 10:00 AM - a: x\n")  # nothing proves it: US style reads month first
    assert us_hint[0].sent_at == utc(2020, 1, 2, 10)
    india_hint = parse_bytes(b"1/2/20, 10:00 am - a: x\n")  # en-IN writes "am": day first
    assert india_hint[0].sent_at == utc(2020, 2, 1, 10)
    uk_hint = parse_bytes(b"01/02/2020, 10:00 - a: x\n")
    assert uk_hint[0].sent_at == utc(2020, 2, 1, 10)
    with pytest.raises(InputError, match="mix day-first and month-first"):
        parse_bytes(b"13/2/20, 10:00 - a: x\n1/13/20, 10:00 - a: y\n")


@pytest.mark.parametrize(
    "body",
    [
        'Omar changed the subject from "Kittens" to "Kittens: sale"',
        "Jonas hat den Betreff zu „Markt: Fahrräder“ geändert",
        "Sara left",
    ],
)
def test_system_lines_with_a_colon_in_quotes_stay_system_lines(body: str):
    (record,) = parse_bytes(f"12/09/2020, 10:00 - {body}\n".encode())
    assert (record.kind, record.sender_name, record.text) == ("service", "", body)


@pytest.mark.parametrize(
    "body",
    ["<attached: ../../etc/passwd.jpg>", "../up/IMG-20200912-WA0001.jpg (file attached)", "see report.pdf (page 2)"],
)
def test_text_naming_paths_or_plain_files_is_no_attachment(body: str):
    (record,) = parse_bytes(f"[12/09/2020, 10:00:00] a: {body}\n".encode())
    assert record.media == [] and record.text == body and record.kind == "message"


def test_impossible_date_keeps_local_string_without_utc():
    (record,) = parse_bytes(b"31/02/2020, 10:00 - a: x\n")
    assert record.sent_at is None and record.sent_local == "31/02/2020, 10:00"


# --- identity ------------------------------------------------------------------------------

FIRST_EXPORT = (
    "12/09/2020, 10:00 - Omar: kitten available\n"
    "12/09/2020, 10:00 - Omar: kitten available\n"
    "12/09/2020, 10:01 - Lina: price?\n"
)
LATER_EXPORT = FIRST_EXPORT + "12/09/2020, 10:02 - Omar: 100 USD\n12/09/2020, 10:03 - Omar: kitten available\n"


def test_ids_are_stable_across_a_later_export_and_distinct_for_duplicates():
    first = parse_bytes(FIRST_EXPORT.encode())
    later = parse_bytes(LATER_EXPORT.encode(), timezone="Asia/Baghdad")
    assert [r.external_id for r in later[:3]] == [r.external_id for r in first]
    ids = [r.external_id for r in later]
    assert len(set(ids)) == len(ids) == 5
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    other_chat = parse_bytes(FIRST_EXPORT.encode(), name="WhatsApp Chat with Other.txt")
    assert not {r.external_id for r in other_chat} & set(ids)


# --- names and detection -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WhatsApp Chat with Kitten Market.txt", "Kitten Market"),
        ("inbox/WhatsApp Chat - Market.zip/_chat.txt", "Market"),
        ("WhatsApp Chat - Market (1).zip", "Market"),
        ("WhatsApp-Chat mit Mira.txt", "Mira"),
        ("Chat de WhatsApp con Ana.txt", "Ana"),
        ("Discussion WhatsApp avec Luc.txt", "Luc"),
        ("Conversa do WhatsApp com Rui.txt", "Rui"),
        ("C:\\exports\\notes.txt", "notes"),
    ],
)
def test_chat_name_from_file_name(name: str, expected: str):
    assert chat_name(name) == expected


def test_looks_like_whatsapp():
    for path in sorted(DATA.rglob("*.txt")):
        assert looks_like_whatsapp(path.read_text(encoding="utf-8-sig")[:2000]), path
    assert looks_like_whatsapp("\ufeff\n\n[12/09/2020, 23:55:01] A: hi\n")
    for text in ('{"name": "x", "messages": []}', "<!DOCTYPE html><html>", "just some notes\n12/9/20", ""):
        assert not looks_like_whatsapp(text)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty file"),
        (b"\n\n  \n", "no WhatsApp message lines"),
        (b"Shopping list\nmilk\n", "line 1 comes before any WhatsApp message line"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"12/09/2020, 10:00 - a: fine\n12/09/2020, 10:01 - a: caf\xe9\n", "invalid UTF-8 on line 2"),
    ],
)
def test_bad_input_raises_input_error_naming_the_file(data: bytes, problem: str):
    records = parse(io.BytesIO(data), "exports/WhatsApp Chat with Bad.txt")
    with pytest.raises(InputError) as caught:
        next(records)  # nothing is yielded before the whole file has been checked
    assert caught.value.path == "exports/WhatsApp Chat with Bad.txt"
    assert problem in caught.value.problem
    assert str(caught.value).startswith("exports/WhatsApp Chat with Bad.txt: ")


def test_unknown_time_zone_is_a_config_error():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        parse_bytes(FIRST_EXPORT.encode(), timezone="Mars/Olympus")


def test_unseekable_stream_is_parsed_too():
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[override]
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    records = list(parse(io.BufferedReader(OneWay(LATER_EXPORT.encode())), "x.txt"))
    assert [r.text for r in records] == [r.text for r in parse_bytes(LATER_EXPORT.encode())]


# --- round trips through the synthetic writers ----------------------------------------------

TEXTS = [
    "Persian kitten, 3 months old, 150 USD",
    "قطط للبيع، العمر شهرين\nالسعر ١٠٠ دولار",
    "پشیله‌ی بچکۆلە بۆ فرۆشتن",
    "Pisîkek ji bo firotinê, 2 meh",
    "گربه‌ی ایرانی می‌فروشم",
    "Satılık yavru kedi: 2 aylık",
    "Used phone 64 GB\n\nprice: 120 USD\ncall me",
    "time: 10:00 - meeting point: market",
]
NAMES = ["Omar", "أبو علي", "رضا", "Ayşe", "+964 770 123 4567", "Karim K."]


def synth_messages(seed: int, spread_days: int) -> list[SynthMessage]:
    rng = random.Random(seed)
    start = datetime(2020, 2, 3, 6, 0, 0, tzinfo=UTC)
    span = spread_days * 86400
    times = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(40))
    messages = []
    for index, when in enumerate(times):
        name = rng.choice(NAMES)
        if index % 13 == 5:
            messages.append(SynthMessage(f"{name} joined using this group's invite link", "", "", when, service=True))
            continue
        photo = bytes([0xFF, 0xD8, 0xFF, index]) if index % 7 == 3 else None
        text = "" if photo and index % 2 else rng.choice(TEXTS)
        messages.append(SynthMessage(text, name, name, when, photo=photo))
    messages.append(messages[-2])  # an identical duplicate must stay a distinct message
    return messages


def expected_utc(message: SynthMessage, ios: bool) -> datetime:
    return message.sent_at if ios else message.sent_at.replace(second=0)


@pytest.mark.parametrize("spread_days", [4, 60])
@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_txt_round_trip(locale: str, spread_days: int):
    loc = LOCALES[locale]
    messages = synth_messages(seed=len(locale) + spread_days, spread_days=spread_days)
    stream = io.BytesIO()
    write_whatsapp_txt(stream, messages, locale=locale, timezone="Asia/Baghdad", chat_name="Market")
    data = stream.getvalue()
    again = io.BytesIO()
    write_whatsapp_txt(again, messages, locale=locale, timezone="Asia/Baghdad", chat_name="Market")
    assert again.getvalue() == data
    assert looks_like_whatsapp(data[:4096].decode("utf-8", "ignore"))

    records = parse_bytes(data, name="WhatsApp Chat with Market.txt", timezone="Asia/Baghdad")
    assert b"".join(r.raw for r in records) == data
    assert_spans(records, data)
    offset = 1 if loc.notice else 0
    assert len(records) == len(messages) + offset
    if offset:
        assert records[0].kind == "service" and loc.notice in records[0].text
    rendered = list(render(messages, locale=locale, timezone="Asia/Baghdad", chat_name="Market", notice=False))
    for message, item, record in zip(messages, rendered, records[offset:], strict=True):
        assert record.sent_at == expected_utc(message, loc.ios)
        assert record.text == item.body
        assert record.sender_name == item.sender.strip(LRE + PDF)
        if message.service:
            assert record.kind == "service"
            assert record.text.endswith(message.text)
            continue
        assert record.kind == "message"
        assert record.sender_name == (message.sender_name or message.sender_id)
        if message.photo is None:
            assert record.text == message.text and record.media == []
        else:
            (media,) = record.media
            assert not media.included and media.rel_path == ""
            assert record.text.endswith(message.text)
    ids = [r.external_id for r in records]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_zip_round_trip_with_photos(tmp_path: Path, locale: str):
    messages = synth_messages(seed=7, spread_days=30)
    path = write_whatsapp_zip(tmp_path / "WhatsApp Chat - Market.zip", "Market", messages, locale=locale)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names[0] == "_chat.txt"
        with archive.open("_chat.txt") as stream:
            records = list(parse(stream, f"{path.name}/_chat.txt"))
        photos = {name: archive.read(name) for name in names[1:]}
    assert {r.chat.name for r in records} == {"Market"}
    with_photo = [m for m in messages if m.photo is not None]
    attached = [r for r in records if r.media]
    assert len(attached) == len(with_photo) == len(photos)
    for message, record in zip(with_photo, attached, strict=True):
        (media,) = record.media
        assert media.included and media.kind == "photo"
        assert photos[media.rel_path] == message.photo
        assert record.text.endswith(message.text)
    again = write_whatsapp_zip(tmp_path / "again.zip", "Market", messages, locale=locale)
    assert again.read_bytes() == path.read_bytes()
