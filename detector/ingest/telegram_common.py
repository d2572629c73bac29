"""Pieces shared by the Telegram JSON and HTML parsers: time zones and media kinds."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detector.errors import ConfigError

PLATFORM = "telegram"

# How Telegram Desktop names an attachment it did not download.
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

# JSON `media_type` (and HTML `media_*` class suffix) -> MediaRecord.kind
MEDIA_KINDS = {
    "photo": "photo",
    "file": "file",
    "audio_file": "file",
    "video_file": "video",
    "video_message": "video",
    "video": "video",
    "animation": "video",
    "voice_message": "voice",
    "sticker": "sticker",
}


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA time zone `name` (e.g. "Asia/Baghdad"); ConfigError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}: use an IANA name such as Asia/Baghdad") from exc


def local_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """A naive local wall-clock time read in `tz`, as an aware UTC datetime."""
    return local.replace(tzinfo=tz).astimezone(UTC)


def is_placeholder(value: str) -> bool:
    """True for Telegram's "(File not included ...)" style stand-ins for a missing file."""
    return value.startswith("(") and value.endswith(")") and "File" in value
