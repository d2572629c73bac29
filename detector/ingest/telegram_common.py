"""Pieces shared by the Telegram JSON and HTML parsers (and the synthetic writer): platform name and media kinds."""

from __future__ import annotations

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


def is_placeholder(value: str) -> bool:
    """True for Telegram's "(File not included ...)" style stand-ins for a missing file."""
    return value.startswith("(") and value.endswith(")") and "File" in value
