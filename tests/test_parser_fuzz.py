"""Parser fuzzing: whatever the bytes, a parser yields records or raises one one-line InputError.

Inputs are mutations of real exports (the synthetic writers' Telegram JSON, Telegram HTML
and WhatsApp text in UTF-8 and UTF-16): byte flips, truncations (anywhere, at structural
bytes, inside a multi-byte character), inserted and deleted bytes and duplicated chunks;
structured Telegram JSON with wrong types, huge numbers and deep nesting; random bytes.
Each input is read whole, through the ordinary stream and through one that returns a few
bytes per read (so the parsers' chunk-boundary paths run on small files), under an alarm
that turns a hang into a failure. Records a parser does yield keep exact evidence spans.

Bounded here (derandomized, a fixed number of examples, a deadline per example);
`python bench/fuzz_parsers.py --minutes N` runs the same strategies for longer.
"""

from __future__ import annotations

import io
import json
import re
import signal
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from detector.errors import DetectorError, InputError, UnknownFormatError
from detector.ingest import telegram_html, telegram_json, whatsapp
from detector.ingest.detect import HEAD_BYTES, detect_format
from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import write_telegram_html, write_telegram_json
from detector.synthetic.whatsapp import write_whatsapp_txt

PARSERS: dict[str, Callable[..., Iterator[Any]]] = {
    "telegram_json": telegram_json.parse,
    "telegram_html": telegram_html.parse,
    "whatsapp_txt": whatsapp.parse,
}
FILE_NAMES = {"telegram_json": "result.json", "telegram_html": "messages.html", "whatsapp_txt": "WhatsApp Chat with Souq.txt"}
# Zones far from UTC on both sides: local times at the ends of the calendar overflow there.
TIMEZONES = ["UTC", "Asia/Baghdad", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12"]
HANG_SECONDS = 10  # one parse of a few-KB input taking this long is a hang

START = datetime(2020, 2, 3, 6, 0, 0, tzinfo=UTC)
PHOTO = b"\xff\xd8\xff\xe0fake jpeg\xff\xd9"
TEXTS = [
    "قطة للبيع، العمر ٣ أشهر، السعر 50$",
    "see https://t.me/souq_test and ask @seller_one #cats\nsecond line <b>& \"quoted\" \\ back",
    "پشیلەی جوان بۆ فرۆشتن",
    "Kedi satılık: 2 aylık",
    "ਅ一 一ਅ 🐈🐈 price: 120 USD\r\nline two",
    "",
]


# --------------------------------------------------------------------------- seeds: real exports


def synth_messages() -> list[SynthMessage]:
    """A short history touching every feature the writers render (service lines, photos, replies, edits)."""
    return [
        SynthMessage("created the channel", "Souq", "channel42", START, service=True),
        SynthMessage(TEXTS[0], "Souq", "channel42", START + timedelta(minutes=1), photo=PHOTO),
        SynthMessage(TEXTS[1], "Souq", "channel42", START + timedelta(minutes=3)),
        SynthMessage(TEXTS[2], "Hawre", "user777", START + timedelta(minutes=5), reply_to=1),
        SynthMessage(TEXTS[3], "+964 770 123 4567", "user778", START + timedelta(minutes=6), forwarded_from="Kirkuk Market"),
        SynthMessage("Dilan joined the group", "Dilan", "user888", START + timedelta(hours=30), service=True),
        SynthMessage(TEXTS[4], "Souq", "channel42", START + timedelta(hours=31), edited_at=START + timedelta(hours=32)),
        SynthMessage(TEXTS[5], "Dilan", "user888", START + timedelta(hours=33), reply_to=2, photo=PHOTO),
    ]


@lru_cache(maxsize=1)
def seeds() -> dict[str, list[bytes]]:
    """Real exports of each format, a few KB each."""
    messages = synth_messages()
    out: dict[str, list[bytes]] = {"telegram_json": [], "telegram_html": [], "whatsapp_txt": []}
    for options in ({}, {"old_format": True}, {"full_account": True}):
        stream = io.BytesIO()
        write_telegram_json(stream, "Souq", 4242, messages, timezone="Asia/Baghdad", **options)
        out["telegram_json"].append(stream.getvalue())
    with tempfile.TemporaryDirectory() as folder:
        for with_offset in (True, False):
            pages = write_telegram_html(Path(folder) / str(with_offset), "Souq <Market>", messages, per_page=5,
                                        timezone="Asia/Baghdad", with_offset=with_offset, include_photos=False)
            out["telegram_html"] += [page.read_bytes() for page in pages]
    for locale, encoding, bom in [("en_US_android", "utf-8", False), ("en_GB_ios", "utf-8", False),
                                  ("ar_android", "utf-8", False), ("fa_ios", "utf-8", False),
                                  ("de_android", "utf-16-le", True), ("ar_ios", "utf-16-le", False),
                                  ("tr_android", "utf-16-be", False), ("ckb_android", "utf-16-be", True)]:
        stream = io.BytesIO()
        write_whatsapp_txt(stream, messages, locale=locale, timezone="Asia/Baghdad", chat_name="Souq",
                           encoding=encoding, bom=bom)
        out["whatsapp_txt"].append(stream.getvalue())
    return out


# --------------------------------------------------------------------------- mutations

# Bytes that change a parser's state: JSON and HTML syntax, line breaks, UTF-8/UTF-16 lead and
# trail bytes, BOMs, NUL, huge numbers, and the tags and stamps the scanners look for.
TOKENS = [
    b'"', b"\\", b"{", b"}", b"[", b"]", b":", b",", b"<", b">", b"</div>", b"<div>", b'<div class="message default">',
    b'<div class="history">', b"\n", b"\r\n", b"\r", b"\x00", b"\n\x00", b"\xff", b"\xfe", b"\xc3", b"\xe2\x80",
    b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"1e999999", b"-1e400", b"9" * 5000, b"NaN",
    b"-Infinity", b"\\ud800", b"\\u0000", b"null", b"true", b"[]", b"{}", b"[" * 3000, "\u202f".encode(),
    b"31/12/9999, 23:59 - A: x\n", b"[01.01.0001, 00:00:00] B: y\n", b' title="31.12.9999 23:59:59 UTC-12:00"',
    b'"date_unixtime": "99999999999999999999"', b'"messages": 1', "\u200f".encode(), "٣".encode(),
]
STRUCTURAL = frozenset(b'{}[]":,<>/\\\n\r \x00=')


def positions(data: bytes) -> list[int]:
    """Offsets worth cutting or inserting at: around structural bytes and inside multi-byte characters."""
    found = {0, len(data)}
    for index, byte in enumerate(data):
        if byte in STRUCTURAL or byte >= 0x80:
            found.update((index, index + 1))
    return sorted(found)


@st.composite
def position(draw: st.DrawFn, data: bytes) -> int:
    if data and draw(st.booleans()):
        spots = positions(data)
        return spots[draw(st.integers(0, len(spots) - 1))]
    return draw(st.integers(0, len(data)))


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with one to four mutations applied in turn."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "token", "delete", "duplicate", "swap"]))
        at = draw(position(data))
        if kind == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
        elif kind == "set" and at < len(data):
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
        elif kind == "token":
            data = data[:at] + draw(st.sampled_from(TOKENS)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 64)) :]
        elif kind == "duplicate":
            chunk = data[at : at + draw(st.integers(1, 512))]
            to = draw(st.integers(0, len(data)))
            data = data[:to] + chunk * draw(st.integers(1, 3)) + data[to:]
        elif kind == "swap" and at < len(data):
            other = draw(st.integers(0, len(data) - 1))
            low, high = sorted((at, other))
            data = data[:low] + data[high : high + 1] + data[low + 1 : high] + data[low : low + 1] + data[high + 1 :]
    return data


@st.composite
def mutated_export(draw: st.DrawFn, fmt: str) -> bytes:
    return draw(mutated(draw(st.sampled_from(seeds()[fmt]))))


# --------------------------------------------------------------------------- structured Telegram JSON

BIG = "\x00big-number\x00"  # dumped as a 5,000-digit integer (json.dumps itself refuses to write one)
LEAVES = st.one_of(
    st.none(), st.booleans(), st.text(max_size=12),
    st.sampled_from(["2020-01-01T00:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59", "1970-01-01T00:00:00",
                     "1577836800", "-62135596801", "253402300800", "99999999999999999999", "nan", "", "a\nb",
                     "\ud800", BIG]),
    st.integers(), st.sampled_from([10**19, -(10**19), 2**63, 10**4000]), st.floats(allow_nan=True, allow_infinity=True),
)
JSON_VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)
MESSAGE_KEYS = ["id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "from", "from_id", "actor",
                "actor_id", "action", "title", "message_id", "members", "text", "text_entities", "photo", "file",
                "media_type", "mime_type", "reply_to_message_id", "forwarded_from"]


def base_message(index: int) -> dict[str, Any]:
    return {"id": index, "type": "message", "date": "2020-02-03T09:00:00", "date_unixtime": "1580709600",
            "from": "Souq", "from_id": "channel42", "text": ["price ", {"type": "mention", "text": "@seller"}],
            "text_entities": [{"type": "plain", "text": "price "}, {"type": "mention", "text": "@seller"}]}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).replace(json.dumps(BIG), "9" * 5000)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def json_message(draw: st.DrawFn, index: int) -> str:
    message = base_message(index)
    for key in draw(st.lists(st.sampled_from(MESSAGE_KEYS), max_size=4, unique=True)):
        if draw(st.integers(0, 5)) == 0:
            message.pop(key, None)
        else:
            message[key] = draw(JSON_VALUES)
    text = dumps(message)
    if draw(st.integers(0, 9)) == 0:  # deep nesting inside a field
        text = text[:-1] + f', "deep": {nested(draw(st.sampled_from([50, 5000, 200_000])))}}}'
    return text


@st.composite
def structured_json(draw: st.DrawFn) -> bytes:
    """A Telegram JSON export with wrong types in its messages or its outer structure."""
    messages = [draw(json_message(index)) for index in range(1, draw(st.integers(0, 3)) + 1)]
    body = draw(st.sampled_from([
        "[" + ", ".join(messages) + "]",
        "[" + ", ".join(messages) + ", 5, \"x\", [] ]",
        "{}", "null", "\"messages\"", "12345", "[" + nested(3000) + "]",
    ])) if draw(st.integers(0, 3)) == 0 else "[" + ", ".join(messages) + "]"
    chat_id = dumps(draw(JSON_VALUES)) if draw(st.integers(0, 4)) == 0 else "4242"
    shape = draw(st.sampled_from(["chat", "chat", "account", "account-bad", "no-id", "top-list", "deep"]))
    if shape == "chat":
        text = f'{{"name": "Souq", "type": "public_channel", "id": {chat_id}, "messages": {body}}}'
    elif shape == "account":
        text = f'{{"about": "x", "chats": {{"about": "y", "list": [{{"name": "S", "id": {chat_id}, "messages": {body}}}]}}}}'
    elif shape == "account-bad":
        text = f'{{"chats": {{"list": {draw(st.sampled_from(["5", "[5]", "{}", "[{}]", "[[]]", body]))}}}, "left_chats": {{"list": []}}}}'
    elif shape == "no-id":
        text = f'{{"name": "Souq", "messages": {body}, "id": 1}}'
    elif shape == "top-list":
        text = f"[{body}]"
    else:
        text = f'{{"id": 1, "name": {nested(draw(st.sampled_from([100, 5000, 100_000])))}, "messages": {body}}}'
    return text.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- structured HTML and WhatsApp stamps

DAYS = st.sampled_from(["1", "01", "12", "13", "29", "30", "31", "00", "99", "٣١", "۱۲"])
YEARS = st.sampled_from(["9999", "1900", "0001", "0000", "00", "99", "20", "2020", "1399", "1177", "1633", "۱۴۰۰", "٢٠٢٠"])
# The ends of the calendar: read in a zone far from UTC they are past what datetime holds.
HTML_EDGES = ["31.12.9999 23:59:59 UTC-12:00", "31.12.9999 23:59:59", "01.01.0001 00:00:00 UTC+14:00",
              "01.01.0001 00:00:00", "31.12.9999 23:59:59 UTC+99:99", "29.02.2021 10:00:00", "00.00.0000 00:00:00"]
WHATSAPP_EDGES = ["31/12/9999, 23:59", "12/31/9999, 11:59 PM", "9999-12-31, 23:59", "01/01/0001, 00:00",
                  "1/1/1900, 00:00", "[31.12.9999, 23:59:59]", "[1633/12/30, 23:59:59]", "[1178/01/01, 00:00:00]"]


@st.composite
def html_dates(draw: st.DrawFn) -> bytes:
    """A Telegram HTML page whose date titles are at and past the ends of the calendar."""
    page = draw(st.sampled_from(seeds()["telegram_html"])).decode()
    if draw(st.booleans()):
        title = draw(st.sampled_from(HTML_EDGES))
    else:
        offset = draw(st.sampled_from(["", " UTC+14:00", " UTC-12:00", " UTC+99:99", " UTC-00:00"]))
        title = f"{draw(DAYS):0>2}.{draw(DAYS):0>2}.{draw(YEARS):0>4} {draw(DAYS):0>2}:{draw(DAYS):0>2}:59{offset}"
    return page.replace('title="', f'title="{title}" data-x="', draw(st.integers(1, 3))).encode()


@st.composite
def whatsapp_dates(draw: st.DrawFn) -> bytes:
    """WhatsApp lines with stamps at and past the ends of the calendar (Gregorian and Jalali)."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            stamp = draw(st.sampled_from(WHATSAPP_EDGES))
        else:
            sep = draw(st.sampled_from(["/", ".", "-"]))
            clock = draw(st.sampled_from(["23:59", "00:00", "12:00 PM", "99:99", "11:59:59 pm", "ب.ظ 11:59"]))
            stamp = f"{draw(DAYS)}{sep}{draw(DAYS)}{sep}{draw(YEARS)}, {clock}"
        if stamp.startswith("["):
            lines.append(f"{stamp} Omar: x")
        elif draw(st.booleans()):
            lines.append(f"[{stamp}] Omar: x")
        else:
            lines.append(f"{stamp} - Omar: x")
    text = "\n".join(lines) + "\n"
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16-le", "utf-16"])))


# --------------------------------------------------------------------------- running one input


class Hang(Exception):
    """A parser call ran past HANG_SECONDS."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread after `seconds` (no-op where SIGALRM does not exist)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ShortReads(io.RawIOBase):
    """A stream giving at most `step` bytes per read: chunk boundaries fall everywhere in a small file."""

    def __init__(self, data: bytes, step: int, seekable: bool) -> None:
        self._data, self._pos, self._step, self._seekable = data, 0, step, seekable

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("seek")
        self._pos = [offset, self._pos + offset, len(self._data) + offset][whence]
        return self._pos

    def readinto(self, buffer: Any) -> int:
        chunk = self._data[self._pos : self._pos + min(len(buffer), self._step)]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def check_error(exc: DetectorError, name: str) -> None:
    assert isinstance(exc, InputError), f"{type(exc).__name__} is not an InputError: {exc}"
    message = str(exc)
    assert len(message.splitlines()) == 1 and "\n" not in message, f"multi-line error: {message!r}"
    assert exc.path == name and message.startswith(f"{name}: "), f"error does not name the file: {message!r}"
    assert exc.problem.strip(), "error without a problem"


def run_parser(fmt: str, data: bytes, *, timezone: str = "UTC", step: int | None = None, seekable: bool = True) -> int:
    """Parse `data` whole; returns the record count, or -1 after a proper InputError. Fails on anything else."""
    name = FILE_NAMES[fmt]
    stream = io.BytesIO(data) if step is None else ShortReads(data, step, seekable)
    with alarm(HANG_SECONDS):
        try:
            records = list(PARSERS[fmt](stream, name, timezone=timezone))
        except DetectorError as exc:
            check_error(exc, name)
            return -1
    for record in records:  # evidence spans: a record's raw bytes are the file's bytes at its offset
        assert data[record.offset : record.offset + len(record.raw)] == record.raw, f"raw bytes of {record.external_id} are not the file's"
    return len(records)


def run_detect(data: bytes) -> str | None:
    """detect_format on the head of `data`: a format name, or None after a proper UnknownFormatError."""
    name = "upload.bin"
    with alarm(HANG_SECONDS):
        try:
            return detect_format(data[:HEAD_BYTES], name)
        except UnknownFormatError as exc:
            check_error(exc, name)
            return None


def check_input(fmt: str, data: bytes, timezone: str, step: int | None, seekable: bool = True,
                tally: Counter[str] | None = None) -> None:
    """The whole property for one input: detection, then the parser meant for it (and the detected one).

    `tally` (the bench's) counts calls per parser and outcome: "<parser> ok" (records) or "<parser> InputError".
    """
    detected = run_detect(data)
    outcomes = [("detect_format", detected is not None)]
    outcomes.append((fmt, run_parser(fmt, data, timezone=timezone, step=step, seekable=seekable) >= 0))
    if detected is not None and detected != fmt:
        outcomes.append((detected, run_parser(detected, data, timezone=timezone) >= 0))
    if tally is not None:
        for parser, ok in outcomes:
            tally[f"{parser} {'ok' if ok else 'InputError'}"] += 1


# --------------------------------------------------------------------------- the properties

CI = settings(max_examples=400, deadline=timedelta(seconds=5), derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STEPS = st.one_of(st.none(), st.integers(1, 97))
ZONES = st.sampled_from(TIMEZONES)


# Every strategy as (parser, data, timezone, step, seekable) cases, for bench/fuzz_parsers.py.
TARGETS = {
    "telegram_json mutations": st.tuples(st.just("telegram_json"), mutated_export("telegram_json"), ZONES, STEPS, st.just(True)),
    "telegram_json structure": st.tuples(st.just("telegram_json"), structured_json(), ZONES, STEPS, st.just(True)),
    "telegram_html mutations": st.tuples(st.just("telegram_html"), mutated_export("telegram_html"), ZONES, STEPS, st.just(True)),
    "telegram_html dates": st.tuples(st.just("telegram_html"), html_dates(), ZONES, st.none(), st.just(True)),
    "whatsapp_txt mutations": st.tuples(st.just("whatsapp_txt"), mutated_export("whatsapp_txt"), ZONES, STEPS, st.booleans()),
    "whatsapp_txt dates": st.tuples(st.just("whatsapp_txt"), whatsapp_dates(), ZONES, st.none(), st.just(True)),
    "random bytes": st.tuples(st.sampled_from(sorted(PARSERS)), st.binary(max_size=4096), st.just("UTC"), STEPS, st.just(True)),
}


@CI
@given(data=mutated_export("telegram_json"), timezone=ZONES, step=STEPS)
def test_telegram_json_mutations(data: bytes, timezone: str, step: int | None) -> None:
    check_input("telegram_json", data, timezone, step)


@CI
@given(data=structured_json(), timezone=ZONES, step=STEPS)
@example(data=b'{"id": "a\\nb", "messages": 5}', timezone="UTC", step=None)  # a line break in the chat id
@example(data=b'{"id": 1, "messages": [{"id": ' + b"9" * 5000 + b"}]}", timezone="UTC", step=None)  # int() digit limit
@example(data=b'{"id": 1, "messages": [{"id": ' + b"9" * 5000 + b"}]}", timezone="UTC", step=5)
@example(data=b'{"id": ' + b"9" * 5000 + b', "messages": []}', timezone="UTC", step=None)
def test_telegram_json_structure(data: bytes, timezone: str, step: int | None) -> None:
    check_input("telegram_json", data, timezone, step)


@CI
@given(data=mutated_export("telegram_html"), timezone=ZONES, step=STEPS)
def test_telegram_html_mutations(data: bytes, timezone: str, step: int | None) -> None:
    check_input("telegram_html", data, timezone, step)


@CI
@given(data=html_dates(), timezone=ZONES)
def test_telegram_html_dates(data: bytes, timezone: str) -> None:
    check_input("telegram_html", data, timezone, None)


@CI
@given(data=mutated_export("whatsapp_txt"), timezone=ZONES, step=STEPS, seekable=st.booleans())
def test_whatsapp_mutations(data: bytes, timezone: str, step: int | None, seekable: bool) -> None:
    check_input("whatsapp_txt", data, timezone, step, seekable)


@CI
@given(data=whatsapp_dates(), timezone=ZONES)
@example(data=b"31/12/9999, 23:59 - Omar: x\n", timezone="America/New_York")  # past datetime.max in UTC
@example(data="[01/01/0001, 00:00:00] Omar: x\n".encode("utf-16"), timezone="Asia/Baghdad")
def test_whatsapp_dates(data: bytes, timezone: str) -> None:
    check_input("whatsapp_txt", data, timezone, None)


@CI
@given(data=st.binary(max_size=2048), fmt=st.sampled_from(sorted(PARSERS)), step=STEPS)
def test_random_bytes(data: bytes, fmt: str, step: int | None) -> None:
    check_input(fmt, data, "UTC", step)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_seeds_parse_whole(fmt: str) -> None:
    """The unmutated exports parse, identically whether read in one chunk or a few bytes at a time."""
    for data in seeds()[fmt]:
        whole = list(PARSERS[fmt](io.BytesIO(data), FILE_NAMES[fmt]))
        assert whole
        assert run_detect(data) == fmt
        if fmt == "whatsapp_txt" and b"\x00" in data:
            continue  # UTF-16 without a BOM is told from binary by its first read (8 KB), so no short reads
        for step in (1, 7, 64):
            assert list(PARSERS[fmt](ShortReads(data, step, True), FILE_NAMES[fmt])) == whole


# --------------------------------------------------------------------------- crashes the fuzzing found


def with_first_date(title: str) -> bytes:
    page = seeds()["telegram_html"][0].decode()
    return page.replace('title="', f'title="{title}" data-x="', 1).encode()


@pytest.mark.parametrize(("title", "timezone"), [("31.12.9999 23:59:59 UTC-12:00", "UTC"),
                                                 ("01.01.0001 00:00:00 UTC+14:00", "UTC"),
                                                 ("31.12.9999 23:59:59", "America/New_York"),
                                                 ("01.01.0001 00:00:00", "Asia/Baghdad")])
def test_html_date_past_the_calendar_is_an_input_error(title: str, timezone: str) -> None:
    """Was OverflowError: a date whose offset or zone moves it outside years 1-9999."""
    with pytest.raises(InputError, match=re.escape(f"impossible message date '{title}'")):
        list(telegram_html.parse(io.BytesIO(with_first_date(title)), "messages.html", timezone=timezone))


def test_whatsapp_date_past_the_calendar_keeps_the_message() -> None:
    """Was OverflowError: the message stays (its local stamp and id), with no UTC time, like an impossible date."""
    data = b"31/12/9999, 23:59 - Omar: x\n1/1/2020, 10:00 - Omar: y\n"
    first, second = whatsapp.parse(io.BytesIO(data), "WhatsApp Chat with Souq.txt", timezone="America/New_York")
    assert (first.sent_at, first.sent_local, first.text) == (None, "31/12/9999, 23:59", "x")
    assert second.sent_at == datetime(2020, 1, 1, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("step", [None, 5])
def test_json_integer_past_the_digit_limit_is_an_input_error(step: int | None) -> None:
    """Was ValueError from int() (over 4,300 digits), raised by the JSON scanner itself."""
    data = b'{"id": 1, "messages": [{"id": 1, "date": "2020-01-01T00:00:00"}, {"id": ' + b"9" * 5000 + b"}]}"
    stream = io.BytesIO(data) if step is None else ShortReads(data, step, True)
    with pytest.raises(InputError, match="after 1 message: a number with too many digits$"):
        list(telegram_json.parse(stream, "result.json"))


def test_json_chat_id_with_a_line_break_stays_one_line() -> None:
    """Was a two-line error: the chat id is shown escaped when it is not printable."""
    with pytest.raises(InputError) as caught:
        list(telegram_json.parse(io.BytesIO(b'{"id": "a\\nb", "messages": 5}'), "result.json"))
    assert str(caught.value) == "result.json: not a Telegram export: the messages of chat 'a\\nb' are not a list"
