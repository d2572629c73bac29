"""Which Unicode encoding a text export is in (UTF-8 or UTF-16), and reading its lines byte-exactly.

Phones and Windows tools sometimes save a WhatsApp `_chat.txt` as UTF-16, with a
byte order mark or without one. The encoding comes from the BOM when there is one;
a head without NUL bytes is UTF-8; a head with NUL bytes and no BOM is UTF-16 only
when the caller's test (`looks_right`) accepts its decoded text, so a binary file is
never taken for text. Lines are split on the encoding's own line feed code unit, so
each line's bytes are exactly the file's bytes.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """A text encoding as found in a file: its codec, its BOM (b"" when absent) and its line feed."""

    codec: str  # "utf-8", "utf-16-le" or "utf-16-be"
    bom: bytes
    newline: bytes

    @property
    def unit(self) -> int:
        """Bytes per code unit: line ends fall on multiples of it."""
        return len(self.newline)

    @property
    def label(self) -> str:
        """How an error message names it: "UTF-8", "UTF-16LE", "UTF-16BE"."""
        return self.codec.upper().replace("-LE", "LE").replace("-BE", "BE")

    def decode_head(self, head: bytes) -> str:
        """The text of the first bytes of a file (after its BOM); a character cut at the end is no error."""
        return codecs.getincrementaldecoder(self.codec)("strict").decode(head[len(self.bom) :], final=False)


UTF8 = TextEncoding("utf-8", b"", b"\n")
UTF8_BOM = TextEncoding("utf-8", codecs.BOM_UTF8, b"\n")
UTF16LE = TextEncoding("utf-16-le", b"", b"\n\x00")
UTF16BE = TextEncoding("utf-16-be", b"", b"\x00\n")
UTF16LE_BOM = TextEncoding("utf-16-le", codecs.BOM_UTF16_LE, b"\n\x00")
UTF16BE_BOM = TextEncoding("utf-16-be", codecs.BOM_UTF16_BE, b"\x00\n")
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)  # checked before UTF-16's: FF FE 00 00 starts both


class EncodingProblem(ValueError):
    """The head is no text we read; the message is one readable phrase."""


class BinaryContent(EncodingProblem):
    """NUL bytes that are no UTF-16 text: a binary file."""


def sniff(head: bytes, looks_right: Callable[[str], bool]) -> TextEncoding:
    """The encoding of a file from its first bytes, or EncodingProblem (binary content, UTF-32, bad UTF-16)."""
    if head.startswith(_UTF32_BOMS):
        raise EncodingProblem("UTF-32 text, which is not read (save the chat as UTF-8 or UTF-16)")
    for found in (UTF16LE_BOM, UTF16BE_BOM):
        if head.startswith(found.bom):
            _check_utf16(found, head)
            return found
    found = UTF8_BOM if head.startswith(UTF8_BOM.bom) else UTF8
    if b"\x00" not in head:
        return found
    for candidate in _utf16_candidates(head) if not found.bom else ():
        try:
            text = candidate.decode_head(head)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text and looks_right(text):
            return candidate
    raise BinaryContent("binary data (NUL bytes)")


def lines(stream: BinaryIO, encoding: TextEncoding) -> Iterator[bytes]:
    """The stream's lines as bytes, each with its line feed; the last one may have none.

    UTF-8 lines split on the byte 0x0A; UTF-16 lines on a whole line feed code unit
    (never on a 0x0A byte that is half of another character).
    """
    if encoding.unit == 1:
        yield from stream
        return
    newline = encoding.newline
    buffer = bytearray()  # starts on a code unit boundary, so line feeds sit at even offsets
    searched = 0  # no line feed starts before this offset of `buffer`
    while chunk := stream.read(_CHUNK):
        buffer += chunk
        start = 0
        while (found := buffer.find(newline, searched)) >= 0:
            if found % 2:  # a 0x0A byte that is half of another character
                searched = found + 1
                continue
            yield bytes(buffer[start : found + 2])
            start = searched = found + 2
        del buffer[:start]
        searched = max(0, len(buffer) - 1)
    if buffer:
        yield bytes(buffer)


def _check_utf16(encoding: TextEncoding, head: bytes) -> None:
    try:
        text = encoding.decode_head(head)
    except UnicodeDecodeError as exc:
        raise EncodingProblem(
            f"a {encoding.label} byte order mark, then bytes that are no UTF-16 text (byte {exc.start + len(encoding.bom):,})"
        ) from None
    if "\x00" in text:
        raise BinaryContent("binary data (NUL characters) after a UTF-16 byte order mark")


def _utf16_candidates(head: bytes) -> list[TextEncoding]:
    """BOM-less UTF-16 byte orders worth trying, the likelier first (ASCII's zero high byte shows the order)."""
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    return [UTF16LE, UTF16BE] if odd >= even else [UTF16BE, UTF16LE]
