"""Plain records yielded by the export parsers; `load` stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """The channel or chat a message belongs to."""

    platform: str  # telegram | whatsapp
    chat_id: str
    name: str
    type: str = ""


@dataclass(slots=True)
class MediaRecord:
    """An attachment as the export names it; `load` resolves, hashes and keeps the bytes."""

    kind: str  # photo | file | video | voice | sticker | other
    rel_path: str  # path relative to the export folder, as written ("" when none)
    included: bool = True  # False for Telegram's "(File not included ...)" placeholders
    mime: str | None = None


@dataclass(slots=True)
class MessageRecord:
    """One message exactly as the export has it (text untouched, raw bytes kept)."""

    chat: ChatRecord
    external_id: str
    sent_at: datetime | None  # timezone-aware UTC
    sent_local: str  # the date/time string exactly as written in the export
    sender_name: str
    sender_id: str
    text: str
    raw: bytes  # the message's own bytes from the export file
    offset: int  # where `raw` starts in that file (its bytes are stored as this span of the kept export)
    kind: str = "message"  # message | service
    entities: list[Any] = field(default_factory=list)
    reply_to: str | None = None
    forwarded_from: str | None = None
    edited_at: datetime | None = None
    media: list[MediaRecord] = field(default_factory=list)
