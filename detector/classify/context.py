"""The thread a message answers: what a reply or a bid is read with (see `Model.predict(contexts=)`).

A message's context is the text it replies to and the last few messages its sender posted
before it in the same chat, oldest first; an explicit `context` list given with the message
wins. `ThreadMemory` keeps a bounded window of recent messages, so a file of any size is read
in one pass.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

SENDER_WINDOW = 2  # earlier messages of the same sender read with a reply
REMEMBERED = 20_000  # messages kept for replies to find their parent


class ThreadMemory:
    """Recent messages by (chat, id) and by (chat, sender); `context_of` reads them, `remember` adds one."""

    def __init__(self, remembered: int = REMEMBERED, sender_window: int = SENDER_WINDOW) -> None:
        self._by_id: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._by_sender: dict[tuple[str, str], deque[str]] = {}
        self._remembered = remembered
        self._window = sender_window

    def context_of(self, item: Mapping[str, Any]) -> list[str]:
        """The message's explicit context, else its parent and its sender's previous messages."""
        explicit = item.get("context")
        if isinstance(explicit, list):
            return [c for c in explicit if isinstance(c, str)]
        chat = str(item.get("chat_id") or "")
        out: list[str] = []
        sender = str(item.get("sender_id") or item.get("sender_name") or "")
        if sender:
            out += list(self._by_sender.get((chat, sender), ()))
        parent = self._by_id.get((chat, str(item.get("reply_to") or "")))
        if parent is not None and parent not in out:
            out.append(parent)
        return out

    def remember(self, item: Mapping[str, Any]) -> None:
        text = item.get("text")
        if not isinstance(text, str):
            return
        chat = str(item.get("chat_id") or "")
        if item.get("external_id") is not None:
            self._by_id[(chat, str(item["external_id"]))] = text
            if len(self._by_id) > self._remembered:
                self._by_id.popitem(last=False)
        sender = str(item.get("sender_id") or item.get("sender_name") or "")
        if sender:
            window = self._by_sender.setdefault((chat, sender), deque(maxlen=self._window))
            window.append(text)
