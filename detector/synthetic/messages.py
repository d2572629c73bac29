"""Input type shared by the synthetic export writers (tests, benchmarks, demo data).

The writers (`synthetic_telegram.py`, `synthetic_whatsapp.py`) render these into
byte-exact exports of each format; the parsers must read them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SynthMessage:
    """One message to render into an export."""

    text: str
    sender_name: str
    sender_id: str
    sent_at: datetime  # timezone-aware UTC
    photo: bytes | None = None  # JPEG bytes of an attached photo
    reply_to: int | None = None  # index of an earlier message in the same list
    forwarded_from: str | None = None
    edited_at: datetime | None = None
    service: bool = False  # a service line (joined, created group, ...)
