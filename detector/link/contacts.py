"""Entity keys from a message's contact signals: one identity for each way of writing it.

A phone and a wa.me link to the same number are one phone; @name and t.me/name are one
Telegram account; invite links and WhatsApp groups are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_WA_NUMBER = re.compile(r"(?:wa\.me/|phone=)\+?(\d{6,15})")
_TG_PATH = re.compile(r"(?:t|telegram)\.me/(joinchat/|\+)?([\w-]+)", re.IGNORECASE)
_WA_GROUP = re.compile(r"chat\.whatsapp\.com/([\w-]+)", re.IGNORECASE)


def entity_key(subtype: str, value: str) -> tuple[str, str] | None:
    """(kind, key) for one contact signal, or None when it names nothing linkable."""
    value = value.strip()
    if subtype == "phone":
        return ("phone", value)
    if subtype == "whatsapp_link":
        if number := _WA_NUMBER.search(value):
            return ("phone", "+" + number.group(1))
        group = _WA_GROUP.search(value)
        return ("whatsapp_group", group.group(1)) if group else None
    if subtype == "telegram_link":
        match = _TG_PATH.search(value)
        if not match:
            return None
        return ("telegram_invite", match.group(2)) if match.group(1) else ("telegram", match.group(2).lower())
    if subtype == "username":
        return ("telegram", value.lstrip("@").lower())
    if subtype == "email":
        return ("email", value.lower())
    return None


def entity_keys(signals: Iterable[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """Each distinct (kind, key) among the contact signals, with the text it was written as."""
    found: dict[tuple[str, str], str] = {}
    for signal in signals:
        if signal.get("type") != "contact":
            continue
        key = entity_key(str(signal.get("subtype", "")), str(signal.get("value", "")))
        if key is not None and key[1]:
            found.setdefault(key, str(signal.get("text", "")))
    return found
