"""UTF-16 WhatsApp exports (LE/BE, with or without a BOM): the same messages and ids as the UTF-8 export,
every record's raw bytes a span of the UTF-16 file, and binary files still refused."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from ingest_fixtures import JPEG, assert_spans, ingest_json
from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.db import open_database
from detector.errors import InputError, UnknownFormatError
from detector.hashing import sha256_bytes
from detector.ingest import text_encoding
from detector.ingest.detect import HEAD_BYTES, detect_format
from detector.ingest.evidence import EvidenceStore
from detector.ingest.originals import original_bytes
from detector.ingest.records import MessageRecord
from detector.ingest.whatsapp import parse
from detector.schema import ExportFile, Media, Message, Source
from detector.synthetic.messages import SynthMessage
from detector.synthetic.whatsapp import write_whatsapp_txt, write_whatsapp_zip

DATA = Path(__file__).parent / "data" / "whatsapp"
EXPECTED = "expected a Telegram Desktop export (result.json or messages.html) or a WhatsApp chat (.txt)"
BOMS = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}

# (codec, BOM written?): Notepad's "Unicode" and "Unicode big endian", and both without a BOM
VARIANTS = [("utf-16-le", True), ("utf-16-be", True), ("utf-16-le", False), ("utf-16-be", False)]
VARIANT_IDS = ["le-bom", "be-bom", "le-no-bom", "be-no-bom"]
LOCALES = ["en_US_android", "en_GB_ios", "de_android", "tr_android", "ru_android", "ar_android", "ar_ios",
           "fa_ios", "ckb_android"]

# Texts whose UTF-16 bytes hold 0x0A and 0x0D bytes that are no line break, a 0x0A byte pair
# straddling two code units ("ਅ一" in LE, "一ਅ" in BE), NUL low bytes (一 is U+4E00) and surrogate pairs.
TEXTS = [
    "Persian kitten, 3 months old, 150 USD",
    "قطط للبيع، العمر شهرين\nالسعر ١٠٠ دولار",
    "پشیله‌ی بچکۆلە بۆ فرۆشتن",
    "گربه‌ی ایرانی می‌فروشم",
    "Satılık yavru kedi: 2 aylık",
    "Котёнок, 2 месяца\r\nцена 100 USD",
    "ਅ一 一ਅ Ċ ഊ ਊ 🐈🐈 price: 120 USD",
    "Used phone 64 GB\n\nprice: 120 USD\ncall me 🙂",
]
NAMES = ["Omar", "أبو علي", "رضا", "Ayşe", "+964 770 123 4567", "Karim K.", "Ċਅ一"]


@lru_cache(maxsize=8)
def synth_messages(seed: int, count: int = 40) -> tuple[SynthMessage, ...]:
    rng = random.Random(seed)
    start = datetime(2020, 2, 3, 6, 0, 0, tzinfo=UTC)
    times = sorted(start + timedelta(seconds=rng.randrange(30 * 86400)) for _ in range(count))
    messages = []
    for index, when in enumerate(times):
        name = rng.choice(NAMES)
        if index % 13 == 5:
            messages.append(SynthMessage(f"{name} joined using this group's invite link", "", "", when, service=True))
            continue
        photo = JPEG if index % 7 == 3 else None
        text = "" if photo and index % 2 else rng.choice(TEXTS)
        messages.append(SynthMessage(text, name, name, when, photo=photo))
    messages.append(messages[-2])  # an identical duplicate stays a distinct message
    return tuple(messages)


def export(messages: tuple[SynthMessage, ...], locale: str, encoding: str = "utf-8", bom: bool = False) -> bytes:
    out = io.BytesIO()
    write_whatsapp_txt(out, messages, locale=locale, timezone="Asia/Baghdad", chat_name="Market",
                       encoding=encoding, bom=bom)
    return out.getvalue()


def parse_bytes(data: bytes, name: str = "WhatsApp Chat with Market.txt") -> list[MessageRecord]:
    return list(parse(io.BytesIO(data), name, timezone="Asia/Baghdad"))


def assert_same_messages(wide: list[MessageRecord], narrow: list[MessageRecord], codec: str) -> None:
    """The UTF-16 records are the UTF-8 records, field for field, except for their raw bytes and offsets."""
    assert len(wide) == len(narrow)
    for a, b in zip(wide, narrow, strict=True):
        assert (a.external_id, a.text, a.sender_name, a.sender_id, a.sent_at, a.sent_local, a.kind, a.media, a.chat) == (
            b.external_id, b.text, b.sender_name, b.sender_id, b.sent_at, b.sent_local, b.kind, b.media, b.chat)
        assert a.raw.decode(codec) == b.raw.decode("utf-8")


def assert_evidence(records: list[MessageRecord], data: bytes, bom: bytes) -> None:
    """Every raw is the file's bytes at its offset; together they are the whole file but its BOM."""
    assert_spans(records, data)
    assert b"".join(r.raw for r in records) == data.removeprefix(bom)
    assert records[0].offset == len(bom)
    for record in records:
        assert sha256_bytes(data[record.offset : record.offset + len(record.raw)]) == sha256_bytes(record.raw)


# --- the parser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "bom"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_utf16_export_reads_as_the_utf8_export(locale: str, codec: str, bom: bool):
    messages = synth_messages(seed=len(locale))
    narrow = parse_bytes(export(messages, locale))
    data = export(messages, locale, codec, bom)
    assert data.removeprefix(BOMS[codec] if bom else b"").decode(codec) == export(messages, locale).decode()

    wide = parse_bytes(data)

    assert_same_messages(wide, narrow, codec)
    assert_evidence(wide, data, BOMS[codec] if bom else b"")
    assert len({r.external_id for r in wide}) == len(wide)
    assert any("ਅ一" in r.text for r in wide) and any("🐈" in r.text for r in wide)


@pytest.mark.parametrize(("codec", "bom"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("rel", sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.txt")))
def test_real_export_fixtures_saved_as_utf16(rel: str, codec: str, bom: bool):
    """The hand-written mirrors of real exports (CRLF, marks, Arabic and Persian digits) re-saved as UTF-16."""
    original = (DATA / rel).read_bytes()
    data = (BOMS[codec] if bom else b"") + original.decode("utf-8-sig").encode(codec)
    narrow = list(parse(io.BytesIO(original), rel, timezone="Asia/Baghdad"))

    wide = list(parse(io.BytesIO(data), rel, timezone="Asia/Baghdad"))

    assert_same_messages(wide, narrow, codec)
    assert_evidence(wide, data, BOMS[codec] if bom else b"")


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
@pytest.mark.parametrize(("codec", "bom"), VARIANTS, ids=VARIANT_IDS)
def test_lines_split_right_whatever_the_read_size(monkeypatch, codec: str, bom: bool, chunk: int):
    """A line feed split between two reads, or a 0x0A byte pair straddling code units, changes nothing."""
    monkeypatch.setattr(text_encoding, "_CHUNK", chunk)
    messages = synth_messages(seed=3, count=12)
    data = export(messages, "ar_android", codec, bom)
    wide = parse_bytes(data)
    assert_same_messages(wide, parse_bytes(export(messages, "ar_android")), codec)
    assert_evidence(wide, data, BOMS[codec] if bom else b"")


def test_a_large_utf16_export_streams_past_many_chunks():
    messages = synth_messages(seed=11, count=3000)
    data = export(messages, "fa_ios", "utf-16-le", True)
    assert len(data) > 5 * HEAD_BYTES  # several 64 KiB reads
    wide = parse_bytes(data)
    assert_same_messages(wide, parse_bytes(export(messages, "fa_ios")), "utf-16-le")
    assert_evidence(wide, data, BOMS["utf-16-le"])


def test_utf16_zip_with_photos(tmp_path: Path):
    messages = synth_messages(seed=5)
    (tmp_path / "utf8").mkdir()
    utf8 = write_whatsapp_zip(tmp_path / "utf8" / "WhatsApp Chat - Market.zip", "Market", messages,
                              locale="ar_ios", timezone="Asia/Baghdad")
    path = write_whatsapp_zip(tmp_path / "WhatsApp Chat - Market.zip", "Market", messages, locale="ar_ios",
                              timezone="Asia/Baghdad", encoding="utf-16-be", bom=True)
    with zipfile.ZipFile(path) as archive:
        data = archive.read("_chat.txt")
        photos = {name: archive.read(name) for name in archive.namelist()[1:]}
    with zipfile.ZipFile(utf8) as archive, archive.open("_chat.txt") as stream:
        narrow = list(parse(stream, f"{utf8.name}/_chat.txt", timezone="Asia/Baghdad"))
    assert data.startswith(BOMS["utf-16-be"])
    assert detect_format(data[:HEAD_BYTES], f"{path.name}/_chat.txt") == "whatsapp_txt"

    with zipfile.ZipFile(path) as archive, archive.open("_chat.txt") as stream:
        wide = list(parse(stream, f"{path.name}/_chat.txt", timezone="Asia/Baghdad"))

    assert_same_messages(wide, narrow, "utf-16-be")
    assert_evidence(wide, data, BOMS["utf-16-be"])
    attached = [r for r in wide if r.media]
    assert len(attached) == len(photos) > 0
    assert all(r.media[0].included and photos[r.media[0].rel_path] == JPEG for r in attached)


def test_the_nul_pattern_alone_never_makes_binary_data_text():
    """BOM-less UTF-16 is read because its lines are WhatsApp lines, not because of where its NULs are."""
    messages = synth_messages(seed=1, count=8)
    assert parse_bytes(export(messages, "en_GB_android", "utf-16-le"))  # read
    rng = random.Random(2)
    samples = struct.pack("<2000h", *(rng.randrange(32, 127) for _ in range(2000)))  # NULs where UTF-16LE has them
    stereo = struct.pack(">2000h", *(rng.randrange(-200, 200) for _ in range(2000)))
    assert samples[1::2] == bytes(2000) and samples[0::2].isascii() and stereo.count(0) > 1000
    for data in (samples, stereo, bytes(4096), b"hello\x00world", random.Random(4).randbytes(9000)):
        with pytest.raises(InputError, match=r"binary data \(NUL bytes\): not a WhatsApp text export"):
            parse_bytes(data)
        with pytest.raises(UnknownFormatError, match=r"binary content \(NUL bytes\), not an export"):
            detect_format(data, "x.txt")


def test_bad_utf16_is_one_clear_line():
    good = export(synth_messages(seed=2, count=200), "de_android", "utf-16-le", True)
    assert len(good) > 8192  # the bad lines come after the bytes read first to tell binary from text
    lines = good[2:].decode("utf-16-le").count("\n")
    cases = {
        good[:-1]: f"invalid UTF-16LE on line {lines} (an odd number of bytes)",  # the last byte cut off
        good + "12.09.20, 10:00 - a: \ud800x\n".encode("utf-16-le", "surrogatepass"): f"invalid UTF-16LE on line {lines + 1} (byte ",
        good + "12.09.20, 10:00 - a: \x00\n".encode("utf-16-le"): f"binary data (NUL characters) on line {lines + 1}",
        b"\xff\xfe\x00\xd8\x00\xd8" + good[2:]: "a UTF-16LE byte order mark, then bytes that are no UTF-16 text",
        b"\xff\xfe\x00\x00" + "12/9/20, 23:55 - A: hi".encode("utf-32-le"): "UTF-32 text, which is not read",
    }
    assert len(parse_bytes(good)) == len(parse_bytes(export(synth_messages(seed=2, count=200), "de_android")))
    for data, problem in cases.items():
        with pytest.raises(InputError) as caught:
            parse_bytes(data, "exports/WhatsApp Chat with Bad.txt")
        message = str(caught.value)
        assert message.startswith("exports/WhatsApp Chat with Bad.txt: ") and problem in message, message
        assert "\n" not in message


# --- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "bom"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_detect_format_reads_utf16_heads(locale: str, codec: str, bom: bool):
    data = export(synth_messages(seed=9, count=1500), locale, codec, bom)
    assert len(data) > HEAD_BYTES
    assert detect_format(data[:HEAD_BYTES], "_chat.txt") == "whatsapp_txt"
    assert detect_format(data[: HEAD_BYTES - 1], "_chat.txt") == "whatsapp_txt"  # a code unit cut in two
    emoji = data.index("🐈".encode(codec))
    assert detect_format(data[: emoji + 2], "_chat.txt") == "whatsapp_txt"  # a surrogate pair cut in two


def test_utf16_text_that_is_no_whatsapp_chat_is_named_as_such():
    telegram = '{"name": "Market", "type": "public_channel", "id": 1, "messages": []}'
    for data, label in ((b"\xff\xfe" + telegram.encode("utf-16-le"), "UTF-16LE"),
                        (b"\xfe\xff" + "Shopping list\nmilk\n".encode("utf-16-be"), "UTF-16BE")):
        with pytest.raises(UnknownFormatError) as caught:
            detect_format(data, "inbox/list.txt")
        assert caught.value.problem == f"{label} text that is not a WhatsApp chat (Telegram exports are UTF-8); {EXPECTED}"


# --- `detector ingest` end to end -------------------------------------------------------------------


@pytest.fixture
def db(db_url):
    engine = open_database(db_url)
    yield db_url, engine
    engine.dispose()


def test_ingest_utf16_exports_end_to_end_and_refuse_a_binary_file(db, tmp_path: Path):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    arabic = synth_messages(seed=21)
    german = synth_messages(seed=22)
    txt = inbox / "WhatsApp Chat with سوق.txt"
    txt.write_bytes(export(arabic, "ar_android", "utf-16-le", True))
    bare = inbox / "WhatsApp Chat with Markt.txt"
    bare.write_bytes(export(german, "de_android", "utf-16-be", False))
    zipped = write_whatsapp_zip(inbox / "WhatsApp Chat - Bazaar.zip", "Bazaar", arabic, locale="fa_ios",
                                timezone="Asia/Baghdad", encoding="utf-16-le", bom=True)
    with zipfile.ZipFile(write_whatsapp_zip(tmp_path / "utf8.zip", "Bazaar", arabic, locale="fa_ios",
                                            timezone="Asia/Baghdad")) as archive:
        utf8_chat = archive.read("_chat.txt")  # the same chat "with media", as UTF-8
    binary = inbox / "WhatsApp Chat with Noise.txt"
    rng = random.Random(5)
    binary.write_bytes(struct.pack("<3000h", *(rng.randrange(-300, 300) for _ in range(3000))))  # audio-like samples
    expected = {
        "سوق": parse_bytes(export(arabic, "ar_android"), "WhatsApp Chat with سوق.txt"),
        "Markt": parse_bytes(export(german, "de_android"), "WhatsApp Chat with Markt.txt"),
        "Bazaar": parse_bytes(utf8_chat, "WhatsApp Chat - Bazaar.zip/_chat.txt"),
    }
    evidence = tmp_path / "evidence"

    result, summary = ingest_json(db_url, evidence, inbox, "--timezone", "Asia/Baghdad")

    line = f"{binary}: binary content (NUL bytes), not an export; {EXPECTED}"
    assert result.exit_code == 1
    assert summary == {"files": 3, "messages_new": sum(map(len, expected.values())), "messages_seen": 0,
                       "errors": [line]}
    assert result.stderr.splitlines()[-1] == f"error: {line}"
    assert "Traceback" not in result.stderr
    store = EvidenceStore(evidence)
    with zipfile.ZipFile(zipped) as archive:
        originals = {str(txt): txt.read_bytes(), str(bare): bare.read_bytes(), f"{zipped}/_chat.txt": archive.read("_chat.txt")}
    codecs = {"سوق": "utf-16-le", "Markt": "utf-16-be", "Bazaar": "utf-16-le"}
    with Session(engine) as session:
        files = {f.name: f for f in session.scalars(select(ExportFile))}
        assert set(files) == set(originals)
        for name, file in files.items():  # each export kept byte for byte
            assert store.path_of(file.stored_path).read_bytes() == originals[name]
        sources = {s.id: s.name for s in session.scalars(select(Source))}
        assert set(sources.values()) == set(expected)
        stored = session.scalars(select(Message).order_by(Message.id)).all()
        for chat, records in expected.items():
            mine = [m for m in stored if sources[m.source_id] == chat]
            assert [(m.external_id, m.text, m.sender_id, m.sent_local) for m in mine] == [
                (r.external_id, r.text, r.sender_id, r.sent_local) for r in records]
        names = {f.id: name for name, f in files.items()}
        for message in stored:  # every message's bytes: a UTF-16 span of its export, hashed right
            data = originals[names[message.export_file_id]]
            raw = original_bytes(store, message)
            assert raw == data[message.raw_offset : message.raw_offset + message.raw_length]
            assert sha256_bytes(raw) == message.raw_sha256
            assert raw.decode(codecs[sources[message.source_id]]).rstrip("\r\n").endswith(message.text)
        photos = session.scalars(select(Media).where(Media.status == "stored")).all()
        assert photos and {p.sha256 for p in photos} == {sha256_bytes(JPEG)}

    again, summary = ingest_json(db_url, evidence, txt, bare, zipped, "--timezone", "Asia/Baghdad")
    assert again.exit_code == 0
    assert summary == {"files": 3, "messages_new": 0, "messages_seen": sum(map(len, expected.values())), "errors": []}
