"""Render `SynthMessage`s as byte-exact WhatsApp "Export chat" files, in every locale we read.

`write_whatsapp_txt` writes the text alone (photos appear as "media omitted"
markers, as in an export "without media"); `write_whatsapp_zip` writes the zip
an export "with media" makes: `_chat.txt` plus each photo under the name
WhatsApp gives it (`IMG-20200912-WA0000.jpg` on Android,
`00000012-PHOTO-2020-09-12-23-55-01.jpg` on iOS). Output depends only on the
messages and options, so the same input always gives the same bytes.
Both write UTF-8 by default; `encoding="utf-16-le"` or `"utf-16-be"` (with
`bom=True` for a byte order mark) writes the UTF-16 files some phones and
Windows tools save.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from detector.ingest import whatsapp_calendar
from detector.synthetic.messages import SynthMessage
from detector.ingest.whatsapp_locales import LOCALES, LRE, LRM, PDF, Locale

__all__ = ["LOCALES", "Rendered", "render", "stamp", "write_whatsapp_txt", "write_whatsapp_zip"]

CHAT_FILE = "_chat.txt"
_PHONE = re.compile(r"^\+?[\d ()\-]{6,}$")


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message as written: its line(s), and the photo it attaches (name, bytes)."""

    text: str  # the export's lines for this message, without the final newline
    body: str  # what follows "Name: " (or the date stamp, for Android system lines)
    sender: str  # the name as written ("" for Android system lines)
    photo: tuple[str, bytes] | None = None


def stamp(local: datetime, loc: Locale) -> str:
    """The date-and-time stamp `loc` writes for the wall-clock time `local`."""
    year, month, day = local.year, local.month, local.day
    if loc.calendar == "jalali":
        year, month, day = whatsapp_calendar.from_gregorian(local.date())
    fmt = "{:02d}" if loc.pad else "{}"
    parts = {"d": fmt.format(day), "m": fmt.format(month), "y": str(year)[-loc.year_digits :]}
    fields = [parts[key] for key in loc.order]
    date = (loc.date_mark + loc.date_sep).join(fields)
    if loc.am_pm:
        hour = f"{local.hour % 12 or 12}"
        suffix = loc.am_pm_space + loc.am_pm[local.hour >= 12]
    else:
        hour, suffix = f"{local.hour:02d}", ""
    clock = f"{hour}{loc.time_sep}{local.minute:02d}"
    if loc.ios:
        clock += f"{loc.time_sep}{local.second:02d}"
    written = f"{date}{loc.between}{clock}{suffix}"
    return written.translate(str.maketrans("0123456789", loc.digits)) if loc.digits else written


def render(
    messages: Iterable[SynthMessage],
    *,
    locale: str,
    timezone: str = "UTC",
    chat_name: str = "Chat",
    with_media: bool = False,
    notice: bool = True,
) -> Iterator[Rendered]:
    """Each message as `locale` writes it; the encryption notice first when `notice`."""
    loc = _locale(locale)
    tz = ZoneInfo(timezone)
    photos_per_day: Counter[str] = Counter()
    items = iter(messages)
    first = next(items, None)
    if first is None:
        return
    if notice and loc.notice:
        yield _line(loc, first.sent_at.astimezone(tz).replace(tzinfo=None), chat_name, "", loc.notice, True)
    for number, message in enumerate(chain([first], items), start=1):
        local = message.sent_at.astimezone(tz).replace(tzinfo=None)
        if message.service:
            yield _line(loc, local, chat_name, "", message.text, True)
            continue
        name = message.sender_name or message.sender_id
        if loc.rtl and _PHONE.match(name):
            name = f"{LRE}{name}{PDF}"
        photo = None
        body = message.text
        if message.photo is not None:
            file = _photo_name(loc, local, number, photos_per_day)
            marker = _attachment(loc, file) if with_media else (LRM + loc.omitted if loc.ios else loc.omitted)
            body = marker + ("\n" + message.text if message.text else "")
            photo = (file, message.photo) if with_media else None
        yield _line(loc, local, name, name, body, False, photo)


def write_whatsapp_txt(
    stream: BinaryIO,
    messages: Iterable[SynthMessage],
    *,
    locale: str,
    timezone: str = "UTC",
    chat_name: str = "Chat",
    notice: bool = True,
    encoding: str = "utf-8",
    bom: bool = False,
) -> int:
    """Write an export "without media" to `stream`; returns the number of messages written (notice included)."""
    codec = _codec(encoding)
    if bom:
        stream.write("\ufeff".encode(codec))
    count = 0
    for item in render(messages, locale=locale, timezone=timezone, chat_name=chat_name, notice=notice):
        stream.write((item.text + "\n").encode(codec))
        count += 1
    return count


def write_whatsapp_zip(
    path: str | Path,
    chat_name: str,
    messages: Iterable[SynthMessage],
    *,
    locale: str,
    timezone: str = "UTC",
    notice: bool = True,
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    """Write an export "with media": a zip of `_chat.txt` and the attached photos."""
    path = Path(path)
    codec = _codec(encoding)
    photos: list[tuple[str, bytes]] = []
    stamp_time = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(path, "w") as archive:
        chat_info = zipfile.ZipInfo(CHAT_FILE, stamp_time)
        chat_info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(chat_info, "w") as entry:
            if bom:
                entry.write("\ufeff".encode(codec))
            for item in render(
                messages, locale=locale, timezone=timezone, chat_name=chat_name, with_media=True, notice=notice
            ):
                entry.write((item.text + "\n").encode(codec))
                if item.photo:
                    photos.append(item.photo)
        for name, data in photos:
            archive.writestr(zipfile.ZipInfo(name, stamp_time), data)
    return path


def _line(
    loc: Locale,
    local: datetime,
    chat_name: str,
    sender: str,
    body: str,
    service: bool,
    photo: tuple[str, bytes] | None = None,
) -> Rendered:
    written = stamp(local, loc)
    if not loc.ios:
        if service:
            return Rendered(f"{written} - {body}", body, "")
        return Rendered(f"{written} - {sender}: {body}", body, sender, photo)
    if service:  # iOS writes system lines under the chat's name, marked with a leading LRM
        body = LRM + body
        return Rendered(f"[{written}] {chat_name}: {body}", body, chat_name)
    lead = LRM if body.startswith(LRM) else ""  # iOS also marks the whole line of an attachment
    return Rendered(f"{lead}[{written}] {sender}: {body}", body, sender, photo)


def _attachment(loc: Locale, file: str) -> str:
    return f"{LRM}<{loc.attached}: {file}>" if loc.ios else f"{file} ({loc.attached})"


def _photo_name(loc: Locale, local: datetime, number: int, per_day: Counter[str]) -> str:
    if loc.ios:
        return f"{number:08d}-PHOTO-{local:%Y-%m-%d-%H-%M-%S}.jpg"
    day = f"{local:%Y%m%d}"
    name = f"IMG-{day}-WA{per_day[day]:04d}.jpg"
    per_day[day] += 1
    return name


def _codec(encoding: str) -> str:
    """`encoding` as a codec name; UTF-16 must name its byte order (a BOM is the `bom` option)."""
    name = codecs.lookup(encoding).name
    if name not in ("utf-8", "utf-16-le", "utf-16-be"):
        raise ValueError(f"unsupported export encoding {encoding!r}; use utf-8, utf-16-le or utf-16-be")
    return name


def _locale(key: str) -> Locale:
    try:
        return LOCALES[key]
    except KeyError:
        raise ValueError(f"unknown WhatsApp locale {key!r}; known: {', '.join(LOCALES)}") from None
