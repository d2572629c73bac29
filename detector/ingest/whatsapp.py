"""WhatsApp "Export chat" text (`_chat.txt` in a zip, or `WhatsApp Chat with X.txt`).

The file may be UTF-8 or UTF-16 (LE or BE, with a BOM or without one; see
`text_encoding`); records keep the file's own bytes either way. Two passes over
the stream, both line by line: the first checks the bytes and
learns the file's date order (a first field above 12 proves day-first, a second
field above 12 proves month-first; otherwise the locale decides), the second
yields one `MessageRecord` per message. Lines that do not start with a date
stamp continue the previous message. Dates, clocks and digits are read from
their shape, so new locales mostly work without a word list.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import BinaryIO

from detector.errors import InputError
from detector.ingest import text_encoding, whatsapp_calendar
from detector.ingest.records import ChatRecord, MediaRecord, MessageRecord
from detector.ingest.text_encoding import EncodingProblem, TextEncoding
from detector.ingest.timezones import local_to_utc, zone
from detector.ingest.whatsapp_locales import (
    BIDI_MARKS,
    LOCALES,
    LRM,
    TO_ASCII_DIGITS,
    attached_labels,
    chat_prefixes,
    omitted_markers,
)

PLATFORM = "whatsapp"
BOM = b"\xef\xbb\xbf"
ID_LENGTH = 32
_SNIFF = 8192  # bytes read first to tell a binary file from text
_HEAD_CHARS = 96  # a date stamp with all its marks fits in this many characters

# AM/PM markers as written (matched case-insensitively) -> afternoon?
_CLOCK_MARKERS = {
    "am": False, "pm": True, "a.m.": False, "p.m.": True, "a. m.": False, "p. m.": True,
    "π.μ.": False, "μ.μ.": True, "öö": False, "ös": True, "ق.ظ.": False, "ب.ظ.": True, "ق.ظ": False, "ب.ظ": True,
} | {
    marker.lower(): afternoon
    for loc in LOCALES.values()
    if loc.am_pm
    for afternoon, marker in zip((False, True), loc.am_pm, strict=True)
}
_MARKS = f"[{BIDI_MARKS}]*"
_SPACE = r"[ \u00a0\u202f]"
_CLOCK = "|".join(
    re.escape(m).replace(r"\ ", f"{_SPACE}?") for m in sorted(_CLOCK_MARKERS, key=len, reverse=True)
)
# `\d` matches Arabic-Indic and Persian digits too, and `int()` reads them.
_HEADER = re.compile(
    rf"""^(?P<lead>[{BIDI_MARKS}\ufeff]*)(?P<open>\[)?{_MARKS}
    (?P<stamp>
      (?P<a>\d{{1,4}}){_MARKS}(?P<sep>[./-]){_SPACE}?{_MARKS}
      (?P<b>\d{{1,2}}){_MARKS}(?P=sep){_SPACE}?{_MARKS}
      (?P<c>\d{{1,4}})\.?{_MARKS}
      [,،]?{_MARKS}{_SPACE}+{_MARKS}(?:[^\W\d_]{{1,4}}\.?{_SPACE}+)?{_MARKS}
      (?:(?P<clock0>ÖÖ|ÖS|上午|下午|오전|오후){_SPACE}?)?
      (?P<h>\d{{1,2}})(?P<tsep>[:.])(?P<mi>\d{{2}})(?:(?P=tsep)(?P<s>\d{{2}}))?
      (?:{_SPACE}?{_MARKS}(?P<clock>{_CLOCK}))?
    )
    {_MARKS}(?(open)\]{_MARKS}{_SPACE}|{_SPACE}+-{_SPACE})
    """,
    re.VERBOSE | re.IGNORECASE,
)
# "Name: text". A name holds no quotes, so 'X changed the subject to "a: b"' stays a system line.
_SENDER = re.compile(r"(?P<name>[^:\"“”„«»\n]{1,80}?):(?: |$)")
_IOS_ATTACHED = re.compile(r"^<(?P<label>[^<>:]{1,40}):\s?(?P<file>[^<>/\\]+\.\w{1,5})>$")
_ANDROID_ATTACHED = re.compile(r"^(?P<file>[^()<>/\\]+?\.\w{1,5}) \((?P<label>[^()]{2,40})\)$")
_WA_NAME = re.compile(r"^(?P<kind>IMG|VID|AUD|PTT|STK|DOC)-\d{8}-WA\d+", re.IGNORECASE)
_IOS_NAME = re.compile(r"^\d{8}-(?P<kind>PHOTO|VIDEO|AUDIO|STICKER|GIF|[A-Z]+)-\d{4}(?:-\d{2}){5}")
_PHONE = re.compile(r"^\+?[\d ()\-.]{6,}$")
_KIND_BY_PREFIX = {
    "IMG": "photo", "PHOTO": "photo", "VID": "video", "VIDEO": "video", "GIF": "video",
    "AUD": "voice", "PTT": "voice", "AUDIO": "voice", "STK": "sticker", "STICKER": "sticker",
}
_KIND_BY_EXTENSION = {
    "jpg": "photo", "jpeg": "photo", "png": "photo", "webp": "photo", "heic": "photo",
    "mp4": "video", "3gp": "video", "mov": "video", "opus": "voice", "ogg": "voice", "m4a": "voice",
}
_OMITTED = omitted_markers()
_ATTACHED = attached_labels()
_CHAT_PREFIXES = chat_prefixes()
_US_CLOCK = frozenset({"AM", "PM"})  # en-US writes capitals; en-IN, en-AU write "am"/"pm", day first
_PERSIAN_DIGIT = re.compile("[۰-۹]")
_RTL_STAMP = re.compile("[٠-٩۰-۹،\u200f]")  # Arabic-script digits, Arabic comma or RLM in a date stamp
_ZEROS = "0٠۰"


@dataclass(slots=True)
class _Stamp:
    """One message's date stamp as the header regex found it."""

    match: re.Match[str]

    def fields(self) -> tuple[int, int, int]:
        return int(self.match["a"]), int(self.match["b"]), int(self.match["c"])


@dataclass(slots=True)
class _Layout:
    """What the first pass learned about the whole file."""

    day_first: bool = False  # a first field above 12 was seen
    month_first: bool = False  # a second field above 12 was seen
    us_clock: bool = False
    slash: bool = False
    rtl: bool = False
    padded: bool = False
    persian_digits: bool = False
    headers: int = 0

    def learn(self, line: str, stamp: _Stamp) -> None:
        self.headers += 1
        first, second, _ = stamp.fields()
        if len(stamp.match["a"]) <= 2:
            if first > 12:
                self.day_first = True
            if second > 12:
                self.month_first = True
        self.us_clock |= stamp.match["clock"] in _US_CLOCK
        self.slash |= stamp.match["sep"] == "/"
        self.padded |= stamp.match["a"][0] in _ZEROS or stamp.match["b"][0] in _ZEROS
        head = line[: stamp.match.end()]
        if not head.isascii():
            self.rtl |= _RTL_STAMP.search(head) is not None
            self.persian_digits |= _PERSIAN_DIGIT.search(head) is not None

    def days_first(self, name: str) -> bool:
        """Day before month? Proved by the data when it can be, else the US style decides."""
        if self.day_first and self.month_first:
            raise InputError(name, "dates mix day-first and month-first order; is this two exports joined?")
        if self.day_first or self.month_first:
            return self.day_first
        us_style = self.us_clock and self.slash and not self.rtl and not self.padded
        return not us_style


@dataclass(slots=True)
class _Pending:
    """The message being read: its header and the lines that continue it."""

    stamp: _Stamp  # its match ends where the first line's text starts
    lines: list[str] = field(default_factory=list)  # decoded lines without their terminators
    ends: list[str] = field(default_factory=list)  # each line's terminator
    raw: list[bytes] = field(default_factory=list)
    offset: int = 0  # where the first line starts in the file

    def add(self, raw: bytes, line: str, end: str) -> None:
        self.raw.append(raw)
        self.lines.append(line)
        self.ends.append(end)


def parse(stream: BinaryIO, name: str, *, timezone: str = "UTC") -> Iterator[MessageRecord]:
    """Yield the messages of a WhatsApp text export, in file order."""
    tz = zone(timezone)
    chat = chat_record(name)
    source = _rewindable(stream)
    start = source.tell()
    encoding = sniff_encoding(source.read(_SNIFF), name)
    source.seek(start)
    layout = _Layout()
    for number, _, _, line, _ in _lines(source, name, encoding):
        stamp = _header(line)
        if stamp:
            layout.learn(line, stamp)
        elif line.strip() and not layout.headers:
            raise InputError(name, _no_header_problem(number))
    if not layout.headers:
        raise InputError(name, _no_header_problem(None))
    source.seek(start)
    reader = _Reader(chat, tz, layout.days_first(name), layout.persian_digits)
    pending: _Pending | None = None
    for _, offset, raw, line, end in _lines(source, name, encoding):
        stamp = _header(line)
        if stamp is None:
            if pending is not None:
                pending.add(raw, line, end)
            continue
        if pending is not None:
            yield reader.record(pending)
        pending = _Pending(stamp, [line], [end], [raw], offset - start)
    if pending is not None:
        yield reader.record(pending)


def looks_like_whatsapp(head_text: str) -> bool:
    """True when the first non-empty line of `head_text` is a WhatsApp message line."""
    for line in head_text.lstrip("\ufeff").splitlines():
        if line.strip():
            return _header(line) is not None
    return False


def sniff_encoding(head: bytes, name: str) -> TextEncoding:
    """The export's encoding from its first bytes; InputError for binary content.

    UTF-16 without a BOM is recognised only when its first line reads as a WhatsApp message line.
    """
    try:
        return text_encoding.sniff(head, looks_like_whatsapp)
    except EncodingProblem as exc:
        raise InputError(name, f"{exc}: not a WhatsApp text export") from None


def chat_record(name: str) -> ChatRecord:
    """The chat an export belongs to, named after its file ("WhatsApp Chat with X.txt" -> "X")."""
    title = chat_name(name)
    return ChatRecord(platform=PLATFORM, chat_id=f"name:{title}", name=title)


def chat_name(name: str) -> str:
    """The chat's name from the export's file name; `_chat.txt` takes its zip's or folder's name."""
    parts = [p for p in re.split(r"[\\/]", name) if p]
    stem = parts[-1] if parts else name
    if stem.lower() == "_chat.txt" and len(parts) > 1:
        stem = parts[-2]
    stem = re.sub(r"\.(txt|zip)$", "", stem, flags=re.IGNORECASE)
    stem = re.sub(r" \(\d+\)$", "", stem)  # "WhatsApp Chat - X (1).zip": a second download
    for prefix in _CHAT_PREFIXES:
        if stem.startswith(prefix) and len(stem) > len(prefix):
            return stem[len(prefix) :]
    return stem


@lru_cache(maxsize=4096)
def sender_id(sender_name: str) -> str:
    """A phone number written as a name becomes "+9647701234567"; other names stay as written."""
    plain = sender_name.translate(TO_ASCII_DIGITS)
    if _PHONE.match(plain):
        digits = re.sub(r"\D", "", plain)
        return ("+" if plain.startswith("+") else "") + digits
    return sender_name


def media_of(text: str) -> MediaRecord | None:
    """The attachment the first line of a message's text names, if any."""
    first = text.split("\n", 1)[0].strip().strip(BIDI_MARKS).strip()
    if kind := _OMITTED.get(first.lower()):
        return MediaRecord(kind=kind, rel_path="", included=False)
    if first.lower().endswith(" document omitted"):
        return MediaRecord(kind="file", rel_path="", included=False)
    found = _IOS_ATTACHED.match(first)
    if found is None:
        found = _ANDROID_ATTACHED.match(first)
        if found and found["label"].lower() not in _ATTACHED and not _WA_NAME.match(found["file"]):
            found = None
    if found is None:
        return None
    file = found["file"].strip()
    return MediaRecord(kind=_kind_of(file), rel_path=file, included=True)


def message_id(chat_id: str, when: str, sender: str, text: str, position: int) -> str:
    """Stable id from chat, time, sender, text and the occurrence index among identical ones."""
    material = "\x1f".join((chat_id, when, sender, text, str(position)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:ID_LENGTH]


class _Reader:
    """Turns a finished `_Pending` into a record; counts repeats for the ids."""

    def __init__(self, chat: ChatRecord, tz: tzinfo, days_first: bool, jalali: bool) -> None:
        self.chat, self.tz, self.days_first, self.jalali = chat, tz, days_first, jalali
        self.seen: dict[bytes, int] = {}

    def record(self, pending: _Pending) -> MessageRecord:
        first = pending.lines[0]
        match = pending.stamp.match
        body = first[pending.stamp.match.end() :]
        text = body + "".join(end + line for end, line in zip(pending.ends, pending.lines[1:], strict=False))
        sender_name, kind = "", "service"
        found = _SENDER.match(body)
        if found:
            sender_name = found["name"].strip(BIDI_MARKS + " ")
            text = text[found.end() :]
            kind = "message"
        media = media_of(text) if kind == "message" else None
        if kind == "message" and media is None and match["open"] and text.startswith(LRM):
            kind = "service"  # iOS marks its system lines ("‎X added Y") with a leading LRM
        sent_local = first[match.start("stamp") : match.end("stamp")]
        local = self._local_time(pending.stamp)
        sid = sender_id(sender_name)
        when = local.isoformat() if local else sent_local
        key = hashlib.sha256("\x1f".join((when, sid, text)).encode("utf-8")).digest()[:16]
        position = self.seen.get(key, 0)
        self.seen[key] = position + 1
        return MessageRecord(
            chat=self.chat,
            external_id=message_id(self.chat.chat_id, when, sid, text, position),
            sent_at=_utc(local, self.tz),
            sent_local=sent_local,
            sender_name=sender_name,
            sender_id=sid,
            text=text,
            raw=b"".join(pending.raw),
            offset=pending.offset,
            kind=kind,
            media=[media] if media else [],
        )

    def _local_time(self, stamp: _Stamp) -> datetime | None:
        """The wall-clock time written, or None when it is no real date (or an unknown calendar)."""
        m = stamp.match
        a, b, c = stamp.fields()
        if len(m["a"]) >= 3:
            year, month, day = a, b, c
        else:
            day, month, year = (a, b, c) if self.days_first else (b, a, c)
        if year < 100:
            year += 2000
        hour, minute, second = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
        clock = m["clock"] or m["clock0"]
        if clock:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if _is_afternoon(clock) else 0)
        try:
            if year < 1900:
                if not ((self.jalali or len(m["a"]) >= 3) and whatsapp_calendar.FIRST_YEAR <= year <= whatsapp_calendar.LAST_YEAR):
                    return None
                gregorian = whatsapp_calendar.to_gregorian(year, month, day)
                year, month, day = gregorian.year, gregorian.month, gregorian.day
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None


def _utc(local: datetime | None, tz: tzinfo) -> datetime | None:
    """`local` read in `tz` as UTC; None when there is none, or when the zone moves it past year 1 or 9999."""
    if local is None:
        return None
    try:
        return local_to_utc(local, tz)
    except OverflowError:
        return None


@lru_cache(maxsize=64)
def _is_afternoon(clock: str) -> bool:
    folded = re.sub(r"[ \u00a0\u202f]", " ", clock.lower())
    if folded in ("ös", "下午", "오후"):
        return True
    return _CLOCK_MARKERS.get(folded, _CLOCK_MARKERS.get(folded.replace(" ", ""), False))


def _header(line: str) -> _Stamp | None:
    match = _HEADER.match(line, 0, _HEAD_CHARS)
    return _Stamp(match) if match else None


def _lines(stream: BinaryIO, name: str, encoding: TextEncoding) -> Iterator[tuple[int, int, bytes, str, str]]:
    """(line number, stream offset, raw bytes, decoded text without terminator, terminator) for each line."""
    if encoding.unit > 1:
        yield from _wide_lines(stream, name, encoding)
        return
    empty = True
    offset = stream.tell()
    for number, raw in enumerate(stream, start=1):
        empty = False
        if b"\x00" in raw:
            raise InputError(name, f"binary data (NUL bytes) on line {number}: not a WhatsApp text export")
        content = raw[len(BOM) :] if number == 1 and raw.startswith(BOM) else raw
        body = content.rstrip(b"\r\n")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                name, f"invalid UTF-8 on line {number} (byte {exc.start + 1}): not a UTF-8 WhatsApp export"
            ) from None
        yield number, offset + len(raw) - len(content), content, text, content[len(body) :].decode("ascii")
        offset += len(raw)
    if empty:
        raise InputError(name, "empty file")


def _wide_lines(stream: BinaryIO, name: str, encoding: TextEncoding) -> Iterator[tuple[int, int, bytes, str, str]]:
    """`_lines` for UTF-16: raw bytes stay the file's UTF-16 bytes, offsets count bytes."""
    empty = True
    offset = stream.tell()
    for number, raw in enumerate(text_encoding.lines(stream, encoding), start=1):
        empty = False
        content = raw[len(encoding.bom) :] if number == 1 and encoding.bom and raw.startswith(encoding.bom) else raw
        try:
            decoded = content.decode(encoding.codec)
        except UnicodeDecodeError as exc:
            problem = "an odd number of bytes" if exc.reason == "truncated data" else f"byte {exc.start + 1}"
            raise InputError(
                name, f"invalid {encoding.label} on line {number} ({problem}): not a UTF-16 WhatsApp export"
            ) from None
        if "\x00" in decoded:
            raise InputError(name, f"binary data (NUL characters) on line {number}: not a WhatsApp text export")
        text = decoded.rstrip("\r\n")
        yield number, offset + len(raw) - len(content), content, text, decoded[len(text) :]
        offset += len(raw)
    if empty:
        raise InputError(name, "empty file")


def _no_header_problem(line_number: int | None) -> str:
    expected = "expected lines like '12/9/20, 23:55 - Name: text' or '[12/09/2020, 23:55:01] Name: text'"
    if line_number is None:
        return f"no WhatsApp message lines found; {expected}"
    return f"line {line_number} comes before any WhatsApp message line; {expected}"


def _kind_of(file: str) -> str:
    named = _WA_NAME.match(file) or _IOS_NAME.match(file)
    if named and named["kind"].upper() in _KIND_BY_PREFIX:
        return _KIND_BY_PREFIX[named["kind"].upper()]
    extension = file.rsplit(".", 1)[-1].lower()
    return _KIND_BY_EXTENSION.get(extension, "file")


def _rewindable(stream: BinaryIO) -> BinaryIO:
    """The stream itself when it can seek; else a spooled copy (memory, then disk)."""
    if stream.seekable():
        return stream
    copy = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 - lives as long as the parse
    shutil.copyfileobj(stream, copy)
    copy.seek(0)
    return copy  # type: ignore[return-value]


