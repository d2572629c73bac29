"""Reading messages to classify without a database: JSON Lines or an export file.

`read_items(path)` yields one dict per message (the JSON line's own fields, or the
export record's identity) with a `text` field, or None for a line that cannot be used
(bad JSON, no `text`), so the caller counts it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

from ..errors import InputError, UnknownFormatError

JSONL_SUFFIXES = (".jsonl", ".ndjson")
HEAD_BYTES = 64 * 1024


def read_items(path: str | Path, *, timezone: str = "UTC") -> Iterator[dict[str, Any] | None]:
    """Messages of a JSON Lines file or of an export (format detected from the content)."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    if path.suffix.lower() in JSONL_SUFFIXES:
        yield from _json_lines(path)
        return
    from ..ingest.detect import detect_format

    try:
        kind = detect_format(head, path.name)
    except UnknownFormatError:
        if not _looks_like_json_lines(head):
            raise
        yield from _json_lines(path)
        return
    yield from _export(path, kind, timezone)


def _looks_like_json_lines(head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def json_objects(path: str | Path) -> Iterator[dict[str, Any] | None]:
    """Each non-blank line of a JSON Lines file as a dict, or None for a line that is not one."""
    try:
        with open(path, encoding="utf-8", errors="strict") as stream:
            for line in stream:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    yield None
                    continue
                yield row if isinstance(row, dict) else None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _json_lines(path: Path) -> Iterator[dict[str, Any] | None]:
    for row in json_objects(path):
        yield row if row is not None and isinstance(row.get("text"), str) else None


def _export(path: Path, kind: str, timezone: str) -> Iterator[dict[str, Any] | None]:
    from ..ingest.run import PARSERS

    parser = import_module(f"..ingest.{PARSERS[kind]}", __package__)
    with open(path, "rb") as stream:
        for record in parser.parse(stream, path.name, timezone=timezone):
            if record.kind != "message":
                continue
            yield {
                "chat": record.chat.name,
                "chat_id": record.chat.chat_id,
                "external_id": record.external_id,
                "sent_at": record.sent_at.isoformat() if record.sent_at else None,
                "sender_name": record.sender_name,
                "sender_id": record.sender_id,
                "reply_to": record.reply_to,
                "text": record.text,
            }
