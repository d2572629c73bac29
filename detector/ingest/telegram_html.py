"""Streaming parser for one page (`messages.html`, `messages2.html`, ...) of a Telegram Desktop HTML export.

A byte scanner finds each `<div class="message ...">` element and its matching
`</div>` by counting `<div` / `</div>` tags (Telegram escapes `<` in text, so tags
only come from the exporter); the element's exact bytes become `raw`, and the
stdlib HTMLParser reads that one element. Memory stays at one chunk plus one message.

Limits of the format, documented:
- HTML pages carry no chat id: `chat_id` is `"name:" + chat name` (from the page
  header), so it is stable across exports of the same chat but not equal to the JSON
  export's numeric id. Senders likewise get `sender_id = "name:" + sender name`.
- `joined` messages inherit the sender of the previous message on the same page; a
  page is parsed on its own, so a joined message opening a page (Telegram Desktop
  does not write one) would have an empty sender. Date separators and service
  messages end the run, as in Telegram.
- Dates are the `title` of `div.date`: with " UTC+hh:mm" the offset is used, without
  it the local time is read in `timezone`. HTML exports carry no edit times.
- Text is the `div.text` content as plain text: tags dropped, `<br>` as newline,
  entities unescaped, the exporter's layout whitespace at both ends stripped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone as fixed_offset, tzinfo
from html.parser import HTMLParser
from typing import BinaryIO

from detector.errors import InputError
from detector.ingest.records import ChatRecord, MediaRecord, MessageRecord
from detector.ingest.timezones import local_to_utc, zone
from detector.ingest.telegram_common import MEDIA_KINDS, PLATFORM

CHUNK = 1 << 20
MAX_HEADER = 4 << 20
MAX_MESSAGE = 16 << 20
_HISTORY = re.compile(rb'<div\s+class="history"')
_CHAT_NAME = re.compile(rb'class="page_header".*?<div\s+class="text bold"\s*>(.*?)</div', re.S)
_MESSAGE = re.compile(rb'<div\s+class="message(?:\s[^"]*)?"[^>]*>')
_DIV_TAG = re.compile(rb"<div[\s>]|</div\s*>")
_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?: UTC([+-])(\d{2}):(\d{2}))?$")
_GO_TO = re.compile(r"go_to_message(\d+)|GoToMessage\((\d+)\)")
# HTML text tags -> Telegram's JSON entity types
_ENTITY_TAGS = {"a": "link", "strong": "bold", "b": "bold", "em": "italic", "i": "italic", "code": "code",
                "pre": "pre", "s": "strikethrough", "u": "underline", "blockquote": "blockquote"}


def parse(stream: BinaryIO, name: str, *, timezone: str = "UTC") -> Iterator[MessageRecord]:
    """Yield every message of one HTML page in file order (date separators skipped).

    Raises InputError(name, problem) for invalid UTF-8, a page that is no Telegram
    export, or a message element that never closes.
    """
    tz = zone(timezone)
    scanner = _Scanner(stream, name)
    previous_sender = ""
    chat_name = scanner.header()
    chat = ChatRecord(PLATFORM, f"name:{chat_name}", chat_name, "")
    for offset, raw in scanner.messages():
        element = _Element.read(raw, name)
        if "service" in element.classes:
            previous_sender = ""  # date separators (negative ids) and service lines end a joined run
            if element.dom_id.isdigit():
                yield _service(element, raw, offset, chat, name)
            continue
        if "joined" in element.classes and not element.from_name:
            element.from_name = previous_sender
        previous_sender = element.from_name
        yield _message(element, raw, offset, chat, tz, name)


def _service(element: _Element, raw: bytes, offset: int, chat: ChatRecord, name: str) -> MessageRecord:
    return MessageRecord(
        chat=chat, external_id=_external_id(element, name), sent_at=None, sent_local="", sender_name="",
        sender_id="", text=element.plain(element.service_text), raw=raw, offset=offset, kind="service",
    )


def _message(element: _Element, raw: bytes, offset: int, chat: ChatRecord, tz: tzinfo, name: str) -> MessageRecord:
    sender = element.from_name
    return MessageRecord(
        chat=chat,
        external_id=_external_id(element, name),
        sent_at=_moment(element.date_title, tz, name),
        sent_local=element.date_title,
        sender_name=sender,
        sender_id=f"name:{sender}" if sender else "",
        text=element.plain(element.text),
        raw=raw,
        offset=offset,
        entities=element.entities,
        reply_to=element.reply_to,
        forwarded_from=element.forwarded_from or None,
        media=element.media,
    )


def _external_id(element: _Element, name: str) -> str:
    if not element.dom_id.isdigit():
        raise InputError(name, f"a message element has no usable id (id={'message' + element.dom_id!r})")
    return element.dom_id


def _moment(title: str, tz: tzinfo, name: str) -> datetime | None:
    """`12.05.2017 12:34:56` (local in tz) or `12.05.2017 12:34:56 UTC+03:00` as UTC."""
    if not title:
        return None
    match = _DATE.match(title)
    if match is None:
        raise InputError(name, f"unreadable message date {title!r}")
    day, month, year, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        if sign is None:
            return local_to_utc(local, tz)
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
        return local.replace(tzinfo=fixed_offset(offset)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: the offset or zone moves it past year 1 or 9999
        raise InputError(name, f"impossible message date {title!r} ({exc})") from exc


class _Scanner:
    """Finds the page header and each message element's exact bytes in a byte stream."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream, self.name = stream, name
        self.buf = b""
        self.pos = 0
        self.base = 0  # the file offset of buf[0]
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(CHUNK)
        self.eof = not data
        self.base += self.pos
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return bool(data)

    def header(self) -> str:
        """The chat name from the page header; InputError when the page is no Telegram export."""
        while (history := _HISTORY.search(self.buf)) is None:
            if len(self.buf) > MAX_HEADER or not self._fill():
                raise InputError(self.name, self._not_export())
        found = _CHAT_NAME.search(self.buf, 0, history.start())
        if found is None:
            raise InputError(self.name, "not a Telegram HTML export: no page header with the chat name")
        self.pos = history.end()
        return html.unescape(_decode(found.group(1), self.name)).strip()

    def _not_export(self) -> str:
        if not self.buf.strip():
            return "empty file: not a Telegram HTML export"
        return 'not a Telegram HTML export: no <div class="history"> with messages'

    def messages(self) -> Iterator[tuple[int, bytes]]:
        """Each message element's file offset and exact bytes."""
        while True:
            start = _MESSAGE.search(self.buf, self.pos)
            if start is None:
                self.pos = max(self.pos, len(self.buf) - 256)  # a start tag may straddle chunks
                if not self._fill():
                    return
                continue
            self.pos = start.start()
            end = self._element_end(self.pos)
            if end is None:
                if len(self.buf) - self.pos > MAX_MESSAGE:
                    raise InputError(self.name, "a message element is larger than 16 MB: not a Telegram export")
                if not self._fill():
                    raise InputError(self.name, "truncated HTML: the file ends inside a message")
                continue
            yield self.base + self.pos, self.buf[self.pos : end]
            self.pos = end

    def _element_end(self, start: int) -> int | None:
        """End offset of the div opened at `start`, or None when the buffer ends first."""
        depth = 0
        for tag in _DIV_TAG.finditer(self.buf, start):
            depth += -1 if tag.group().startswith(b"</") else 1
            if depth == 0:
                return tag.end()
        return None


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, f"invalid UTF-8 in the page: {exc.reason} at byte {exc.start} of an element") from exc


class _Element(HTMLParser):
    """The fields of one message element, read by the stdlib HTML parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.classes: set[str] = set()
        self.dom_id = ""
        self.from_name = ""
        self.forwarded_from = ""
        self.date_title = ""
        self.text: list[str] = []
        self.service_text: list[str] = []
        self.entities: list[dict[str, str]] = []
        self.reply_to: str | None = None
        self.media: list[MediaRecord] = []
        self._stack: list[str] = []  # role of each open div: "" or a field name
        self._in_forwarded = False
        self._entity: dict[str, str] | None = None
        self._span_depth = 0

    @classmethod
    def read(cls, raw: bytes, name: str) -> _Element:
        element = cls()
        element.feed(_decode(raw, name))
        element.close()
        return element

    @staticmethod
    def plain(parts: list[str]) -> str:
        """Joined text with the exporter's layout whitespace removed from both ends."""
        return "".join(parts).strip()

    def _role(self) -> str:
        return next((role for role in reversed(self._stack) if role), "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        classes = set(values.get("class", "").split())
        if tag == "br":
            self._data("\n")
        elif tag == "div":
            self._open_div(classes, values)
        elif tag == "span" and self._role() == "from_name":
            self._span_depth += 1
        elif tag == "a" and self._role() == "reply_to":
            self._reply(values)
        elif tag == "a":
            self._attachment(classes, values.get("href"), included=True)
        if self._role() == "text" and tag in _ENTITY_TAGS:
            self._entity = {"type": _ENTITY_TAGS[tag], "text": ""}
            if tag == "a" and values.get("href"):
                self._entity.update(type="text_link", href=values["href"])

    def _open_div(self, classes: set[str], values: dict[str, str]) -> None:
        if not self._stack:
            self.classes = classes
            self.dom_id = values.get("id", "").removeprefix("message")
            self._stack.append("")
            return
        role = ""
        if "forwarded" in classes and "body" in classes:
            self._in_forwarded = True
            role = "forwarded"
        elif "from_name" in classes:
            role = "from_name"
        elif "text" in classes:
            role = "text"
        elif "reply_to" in classes:
            role = "reply_to"
        elif "date" in classes and not self.date_title and "title" in values:
            self.date_title = values["title"]
        elif "body" in classes and "details" in classes and "service" in self.classes:
            role = "service"
        elif "media" in classes:  # a placeholder: <div class="media ... media_photo"> has no link
            self._attachment(classes, None, included=False)
        self._stack.append(role)

    def _reply(self, values: dict[str, str]) -> None:
        found = _GO_TO.search(values.get("href", "")) or _GO_TO.search(values.get("onclick", ""))
        if found is not None:
            self.reply_to = found.group(1) or found.group(2)

    def _attachment(self, classes: set[str], href: str | None, *, included: bool) -> None:
        kind = _media_kind(classes)
        if kind is None or (included and not href):
            return
        self.media.append(MediaRecord(kind, href or "", included=included))

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._stack:
            if self._stack.pop() == "forwarded":
                self._in_forwarded = False
        elif tag == "span" and self._span_depth:
            self._span_depth -= 1
        elif self._entity is not None and tag in _ENTITY_TAGS:
            self.entities.append(_typed(self._entity))
            self._entity = None

    def handle_data(self, data: str) -> None:
        self._data(data)

    def _data(self, data: str) -> None:
        role = self._role()
        if role == "text":
            self.text.append(data)
            if self._entity is not None:
                self._entity["text"] += data
        elif role == "service":
            self.service_text.append(data)
        elif role == "from_name" and not self._span_depth:
            if self._in_forwarded:
                self.forwarded_from = (self.forwarded_from + data).strip()
            else:
                self.from_name = (self.from_name + data).strip()


def _typed(entity: dict[str, str]) -> dict[str, str]:
    """Telegram's JSON type for a link entity: link (text is the URL), mention, hashtag or text_link."""
    if entity["type"] == "text_link" and entity["text"] == entity["href"]:
        entity["type"] = "link"
    elif entity["type"] == "link":  # an <a> without href: Telegram's mention and hashtag links
        entity["type"] = {"@": "mention", "#": "hashtag"}.get(entity["text"][:1], "link")
    return entity


def _media_kind(classes: set[str]) -> str | None:
    """MediaRecord kind for an attachment element's classes, None when it is no attachment."""
    if "photo_wrap" in classes:
        return "photo"
    if "video_file_wrap" in classes or "animated_wrap" in classes:
        return "video"
    if "sticker_wrap" in classes:
        return "sticker"
    for cls in classes:
        if cls.startswith("media_") and "media" in classes:
            return MEDIA_KINDS.get(cls.removeprefix("media_"))
    return None
