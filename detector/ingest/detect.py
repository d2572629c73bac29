"""Tell an export's format from its first bytes (content, never the file name)."""

from __future__ import annotations

import re

from detector.errors import UnknownFormatError
from detector.ingest import text_encoding
from detector.ingest.text_encoding import BinaryContent, EncodingProblem
from detector.ingest.whatsapp import looks_like_whatsapp

HEAD_BYTES = 64 * 1024
_TELEGRAM_JSON = re.compile(r'"(?:messages"\s*:\s*\[|chats"\s*:\s*\{|personal_information"\s*:)')
_HTML = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<div[\s>]", re.I)
_TELEGRAM_HTML = re.compile(r'<div\s+class="(?:history|message (?:default|service))\b')
_TELEGRAM_PAGE = re.compile(r'<div\s+class="page_wrap"')
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (give the zip itself to ingest, not its bytes to a parser)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"SQLite format 3": "an SQLite database",
}
_EXPECTED = "expected a Telegram Desktop export (result.json or messages.html) or a WhatsApp chat (.txt)"


def detect_format(head: bytes, name: str) -> str:
    """"telegram_json", "telegram_html" or "whatsapp_txt" for the first ~64 KB of a file.

    Raises UnknownFormatError(name, problem) for empty, binary, non-UTF-8 content and
    for JSON, HTML or text that is no export. UTF-16 text (a BOM, or without one the
    NUL byte pattern of UTF-16LE/BE) is read for WhatsApp chats only.
    """
    if not head.strip():
        raise UnknownFormatError(name, f"empty file: {_EXPECTED}" if not head else f"only blank space: {_EXPECTED}")
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise UnknownFormatError(name, f"{what}, not an export; {_EXPECTED}")
    text, encoding = _decode_head(head, name)
    if looks_like_whatsapp(text):  # before JSON: iOS chat lines start with "["
        return "whatsapp_txt"
    if encoding.unit > 1:
        raise UnknownFormatError(name, f"{encoding.label} text that is not a WhatsApp chat (Telegram exports are UTF-8); {_EXPECTED}")
    start = text.lstrip("\ufeff \t\r\n")
    if start[:1] in ("{", "["):
        if start[:1] == "{" and _TELEGRAM_JSON.search(start):
            return "telegram_json"
        raise UnknownFormatError(name, f"JSON but not a Telegram export (no messages list); {_EXPECTED}")
    if start[:1] == "<" and _HTML.search(start):
        if _TELEGRAM_HTML.search(start):
            return "telegram_html"
        if _TELEGRAM_PAGE.search(start):
            raise UnknownFormatError(name, "a Telegram export page without messages (an index or list page), skipped")
        raise UnknownFormatError(name, f"an HTML page that is not a Telegram export; {_EXPECTED}")
    raise UnknownFormatError(name, f"not a recognised export; {_EXPECTED}")


def _decode_head(head: bytes, name: str) -> tuple[str, text_encoding.TextEncoding]:
    """The head as text, and its encoding; a character cut at the end of the head is not an error."""
    try:
        encoding = text_encoding.sniff(head, looks_like_whatsapp)
    except BinaryContent:
        raise UnknownFormatError(name, f"binary content (NUL bytes), not an export; {_EXPECTED}") from None
    except EncodingProblem as exc:
        raise UnknownFormatError(name, f"{exc}; {_EXPECTED}") from None
    try:
        return encoding.decode_head(head), encoding
    except UnicodeDecodeError as exc:
        raise UnknownFormatError(name, f"not UTF-8 text (invalid byte at {exc.start + len(encoding.bom):,}); {_EXPECTED}") from exc
