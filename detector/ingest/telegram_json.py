"""Streaming parser for Telegram Desktop JSON exports (`result.json`).

Reads a single-chat export `{name, type, id, messages: [...]}` or a full-account
export (every chat of `chats.list` and `left_chats.list`) without loading the file:
the stream is decoded in 1 MB chunks into a sliding window, the export's outer
structure is walked key by key, and each message object is decoded with the C JSON
scanner (`JSONDecoder.raw_decode`), which also gives its end. A message's `raw` is
its exact span of the file (the decoded span re-encoded: UTF-8 round-trips byte for
byte), and `offset` where that span starts. Memory stays at the window plus one
message, whatever the file size. A lone surrogate escape (`"\\ud800"`, not a character)
stays as written in those bytes; the values read from it carry U+FFFD in its place.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any, BinaryIO, cast

from detector.errors import InputError, shown_name
from detector.ingest.records import ChatRecord, MediaRecord, MessageRecord
from detector.ingest.telegram_common import MEDIA_KINDS, PLATFORM, is_placeholder
from detector.ingest.timezones import local_to_utc, zone

CHUNK = 1 << 20
MAX_VALUE = 64 << 20  # one JSON value (a message) larger than this is not a real export
LOOKAHEAD = 64 << 10  # the window is refilled before less than this is left, so a message rarely runs past its end
_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_SEPARATOR = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_CHAT_SECTIONS = ("chats", "left_chats")
_CHAT_FIELDS = ("name", "type", "id")
_EPOCH_YEAR = 1970  # 2018 exports wrote "edited": "1970-01-01T..." for never-edited messages
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # in JSON source: the only way a value can hold one
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse(stream: BinaryIO, name: str, *, timezone: str = "UTC") -> Iterator[MessageRecord]:
    """Yield every message of a Telegram JSON export, in file order.

    `timezone` (IANA name) interprets `date` only in old exports without `date_unixtime`.
    Raises InputError(name, problem) for truncated or malformed JSON, invalid UTF-8,
    or JSON that is not a Telegram export.
    """
    tz = zone(timezone)
    reader = _Reader(stream, name)
    first = reader.peek()
    if first == "":
        raise InputError(name, "empty file: not a Telegram JSON export")
    if first == "[":
        raise InputError(name, "not a Telegram export: the JSON is a list, expected an object with a messages list")
    if first != "{":
        raise InputError(name, "not a Telegram JSON export: the file does not start with a JSON object")
    try:
        yield from _root(reader, tz)
    except RecursionError as exc:  # the C scanner's guard against hostile nesting
        raise reader.malformed("values nested too deeply") from exc
    if reader.peek() != "" or reader.cut_char:
        raise reader.malformed("unexpected data after the end of the export")


def _root(reader: _Reader, tz: tzinfo) -> Iterator[MessageRecord]:
    """Walk the top-level object: a single chat, or the chat sections of a full export."""
    fields: dict[str, Any] = {}
    found = False
    for key in reader.members():
        if key == "messages":
            found = True
            yield from _messages(reader, _chat(fields, reader), tz)
        elif key in _CHAT_SECTIONS and reader.peek() == "{":
            found = True
            for section_key in reader.members():
                if section_key == "list":
                    yield from _chat_list(reader, tz)
                else:
                    reader.value()
        else:
            _keep_chat_field(fields, key, reader.value()[0])
    if not found:
        raise InputError(reader.name, 'not a Telegram export: no "messages" list and no "chats" section')


def _chat_list(reader: _Reader, tz: tzinfo) -> Iterator[MessageRecord]:
    """Every chat object of a `chats.list` / `left_chats.list` array."""
    for _ in reader.items("chat list"):
        if reader.peek() != "{":
            raise reader.unexpected("an entry of the chat list is not an object")
        fields: dict[str, Any] = {}
        for key in reader.members():
            if key == "messages":
                yield from _messages(reader, _chat(fields, reader), tz)
            else:
                _keep_chat_field(fields, key, reader.value()[0])


def _keep_chat_field(fields: dict[str, Any], key: str, value: Any) -> None:
    if key in _CHAT_FIELDS:
        fields[key] = _without_surrogates(value)


def _without_surrogates(value: Any) -> Any:
    """A decoded JSON value with every lone surrogate (strings and keys, at any depth) as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    return value


def _chat(fields: dict[str, Any], reader: _Reader) -> ChatRecord:
    if "id" not in fields:
        raise reader.unexpected('a chat\'s "messages" list comes before its "id"')
    return ChatRecord(PLATFORM, str(fields["id"]), str(fields.get("name") or ""), str(fields.get("type") or ""))


def _messages(reader: _Reader, chat: ChatRecord, tz: tzinfo) -> Iterator[MessageRecord]:
    """The hot loop: one C scan and one record per message; the careful path only at chunk ends."""
    if reader.peek() != "[":
        if reader.peek() == "":
            raise reader.truncated()
        raise InputError(reader.name, f"not a Telegram export: the messages of chat {_shown(chat.chat_id)} are not a list")
    reader.pos += 1
    reader.where = "the messages list"
    char = reader.peek()
    if char == "]":
        reader.pos += 1
    scan = _DECODER.scan_once  # type: ignore[attr-defined]  # set in JSONDecoder.__init__; typeshed omits it
    while char != "]":
        if len(reader.buf) - reader.pos < LOOKAHEAD and not reader.eof:
            reader.fill()  # cheaper than a failed scan (its error counts the window's lines)
        buf, start = reader.buf, reader.pos
        try:
            message, end = scan(buf, start)
            source = buf[start:end]
            reader.pos = end
        except (StopIteration, ValueError):  # the object runs past the window, or is bad (JSONDecodeError is a ValueError)
            message, source = reader.value()
            start = reader.pos - len(source)
        if type(message) is not dict:
            raise reader.malformed(f"message {reader.messages + 1:,} is not a JSON object")
        offset, raw = reader.span(start, source)
        if _SURROGATE_ESCAPE.search(source):
            message = _without_surrogates(message)
        try:
            record = _record(message, raw, offset, chat, tz)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise InputError(reader.name, f"message {reader.messages + 1:,} of chat {_shown(chat.chat_id)} is malformed ({problem})") from exc
        reader.messages += 1
        yield record
        separator = _SEPARATOR.match(reader.buf, reader.pos)
        if separator is not None:
            char, reader.pos = separator.group(1), separator.end()
        else:
            char = reader.peek()
            reader.pos += 1
            if char not in (",", "]"):
                reader.pos -= 1
                raise reader.unexpected("expected ',' or ']' in the messages list")
    reader.where = "the export"


def _shown(chat_id: str) -> str:
    """A chat id as an error message shows it: as written, or quoted and escaped when it holds line breaks or
    controls; isolated when it holds right-to-left letters (`errors.shown_name`)."""
    return shown_name(chat_id if chat_id.isprintable() else repr(chat_id))


def _record(message: dict[str, Any], raw: bytes, offset: int, chat: ChatRecord, tz: tzinfo) -> MessageRecord:
    """One message dict (and its bytes, found at `offset` of the file) as a MessageRecord."""
    service = message.get("type") == "service"
    text, entities = _text(message.get("text", ""), message.get("text_entities"))
    date = message["date"]
    if service:
        sender, sender_id = message.get("actor"), message.get("actor_id")
        text = text or _action(message)
    else:
        sender, sender_id = message.get("from"), message.get("from_id")
    reply_to = message.get("reply_to_message_id")
    forwarded = message.get("forwarded_from")
    return MessageRecord(
        chat=chat,
        external_id=str(message["id"]),
        sent_at=_moment(message.get("date_unixtime"), date, tz),
        sent_local=date,
        sender_name=sender or "",
        sender_id="" if sender_id is None else str(sender_id),
        text=text,
        raw=raw,
        offset=offset,
        kind="service" if service else "message",
        entities=entities,
        reply_to=None if reply_to is None else str(reply_to),
        forwarded_from=None if forwarded is None else str(forwarded),
        edited_at=_edited(message, tz),
        media=_media(message),
    )


def _text(value: str | list[Any], text_entities: list[Any] | None) -> tuple[str, list[Any]]:
    """Plain text (parts concatenated) and entities (`text_entities`, else the list's parts)."""
    if isinstance(value, str):
        return value, text_entities if text_entities is not None else []
    plain = "".join([part if type(part) is str else part.get("text", "") for part in value])
    if text_entities is None:
        text_entities = [part if isinstance(part, dict) else {"type": "plain", "text": part} for part in value]
    return plain, text_entities


def _action(message: dict[str, Any]) -> str:
    """A service message's action as text: `create_channel: Title`, `invite_members: A, B`."""
    action = str(message.get("action") or "")
    details = [str(message[key]) for key in ("title", "message_id") if message.get(key) is not None]
    details += [str(member) for member in message.get("members") or []]
    return f"{action}: {', '.join(details)}" if details else action


def _moment(unixtime: str | int | None, local: str | None, tz: tzinfo) -> datetime | None:
    """UTC time from `*_unixtime` when present, else the local `date` read in `tz`."""
    if unixtime is not None:
        return datetime.fromtimestamp(int(unixtime), UTC)
    if not local:
        return None
    return local_to_utc(datetime.fromisoformat(local), tz)


def _edited(message: dict[str, Any], tz: tzinfo) -> datetime | None:
    if "edited" not in message and "edited_unixtime" not in message:
        return None
    moment = _moment(message.get("edited_unixtime"), message.get("edited"), tz)
    if moment is not None and moment.year <= _EPOCH_YEAR and "edited_unixtime" not in message:
        return None  # old exports' "never edited" marker
    return moment


def _media(message: dict[str, Any]) -> list[MediaRecord]:
    media = []
    photo = message.get("photo")
    if isinstance(photo, str):
        media.append(_attachment("photo", photo, message.get("mime_type")))
    file = message.get("file")
    if isinstance(file, str):
        kind = MEDIA_KINDS.get(message.get("media_type") or "file", "other")
        media.append(_attachment(kind, file, message.get("mime_type")))
    return media


def _attachment(kind: str, path: str, mime: str | None) -> MediaRecord:
    if is_placeholder(path):
        return MediaRecord(kind, "", included=False, mime=mime)
    return MediaRecord(kind, path, included=True, mime=mime)


class _Reader:
    """A sliding decoded window over the byte stream with a tiny JSON walker on top."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self._mark = (0, 0)  # (index in buf, its byte offset in the file): where byte offsets are counted from
        self.eof = False
        self.bytes_read = 0
        self.messages = 0
        self.where = "the export"
        self.cut_char = False  # the file's last bytes are the start of a character
        self.fill()
        if self.buf.startswith("\ufeff"):
            self.pos = 1

    def fill(self) -> bool:
        """Read one more chunk into the window (dropping what was consumed); False at end."""
        if self.eof:
            return False
        data = self.stream.read(CHUNK)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            if not data:  # the last character was cut in half: the parser reports where the file ends
                self.cut_char = True
                text = ""
            else:
                raise InputError(self.name, f"invalid UTF-8 near byte {self.bytes_read + max(exc.start, 0):,}") from exc
        self.bytes_read += len(data)
        self.eof = not data
        self._mark = (0, self.byte_offset(self.pos))
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return True

    def byte_offset(self, index: int) -> int:
        """The file offset of the window's character at `index` (counted on from the last one asked)."""
        at, offset = self._mark
        if index < at:
            at, offset = 0, self._mark[1] - len(self.buf[:at].encode("utf-8"))
        return offset + len(self.buf[at:index].encode("utf-8"))

    def span(self, start: int, source: str) -> tuple[int, bytes]:
        """The file offset and exact bytes of `source`, the window's text from `start`."""
        raw = source.encode("utf-8")
        offset = self.byte_offset(start)
        self._mark = (start + len(source), offset + len(raw))
        return offset, raw

    def peek(self) -> str:
        """The next non-blank character ("" at the end of the file)."""
        while True:
            self.pos = cast(re.Match[str], _WS.match(self.buf, self.pos)).end()  # _WS matches the empty string
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def expect(self, char: str, context: str) -> None:
        if self.peek() != char:
            raise self.unexpected(f"expected {char!r} in {context}")
        self.pos += 1

    def value(self) -> tuple[Any, str]:
        """Decode the JSON value at the cursor; returns it and its exact source text."""
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                incomplete = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf) - 8
                if not incomplete:
                    raise self.malformed(f"{exc.msg} ") from exc
                if len(self.buf) - self.pos > MAX_VALUE:
                    raise self.malformed(f"a single value is larger than {MAX_VALUE >> 20} MB") from exc
                if not self.fill():
                    raise self.truncated() from exc
                continue
            except ValueError as exc:  # int() refuses an integer of over 4,300 digits (sys.get_int_max_str_digits)
                raise self.malformed("a number with too many digits") from exc
            if end == len(self.buf) and self.fill():
                continue  # a number may go on in the next chunk: decode again with more text
            source = self.buf[self.pos : end]
            self.pos = end
            return obj, source

    def members(self) -> Iterator[str]:
        """Keys of the object at the cursor; the caller consumes each value before the next key."""
        self.expect("{", self.where)
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.unexpected(f"expected a key in {self.where}")
            key = self.value()[0]
            self.expect(":", self.where)
            yield key
            char = self.peek()
            self.pos += 1
            if char == "}":
                return
            if char != ",":
                raise self.unexpected(f"expected ',' or '}}' in {self.where}")

    def items(self, context: str) -> Iterator[None]:
        """Positions of the items of the array at the cursor; the caller consumes each item."""
        self.expect("[", context)
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield None
            char = self.peek()
            self.pos += 1
            if char == "]":
                return
            if char != ",":
                self.pos -= 1
                raise self.unexpected(f"expected ',' or ']' in the {context}")

    def unexpected(self, problem: str) -> InputError:
        return self.truncated() if self.peek() == "" else self.malformed(problem)

    def _count(self) -> str:
        return f"{self.messages:,} message" + ("" if self.messages == 1 else "s")

    def truncated(self) -> InputError:
        return InputError(self.name, f"file ends early: the JSON stops inside {self.where} (after {self._count()})")

    def malformed(self, problem: str) -> InputError:
        return InputError(self.name, f"malformed JSON in {self.where} after {self._count()}: {problem.strip()}")
