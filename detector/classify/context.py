"""The thread a message answers: what a reply or a bid is read with (see `Model.predict(contexts=)`).

A message's context is the text it replies to; an explicit `context` list given with the message
wins. A sender's earlier posts are not used: measured on the synthetic validation split, an
ordinary priced message posted after a listing took the listing's flag one time in four.
`ThreadMemory` keeps a bounded window of recent messages, so a file of any size is read in one pass.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

REMEMBERED = 20_000  # messages kept for replies to find their parent


class ThreadMemory:
    """Recent messages by (chat, id); `context_of` reads them, `remember` adds one."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._by_id: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._remembered = remembered

    def context_of(self, item: Mapping[str, Any]) -> list[str]:
        """The message's explicit context, else the message it replies to (when seen)."""
        explicit = item.get("context")
        if isinstance(explicit, list):
            return [c for c in explicit if isinstance(c, str)]
        parent = self._by_id.get((str(item.get("chat_id") or ""), str(item.get("reply_to") or "")))
        return [parent] if parent is not None else []

    def remember(self, item: Mapping[str, Any]) -> None:
        text = item.get("text")
        if isinstance(text, str) and item.get("external_id") is not None:
            self._by_id[(str(item.get("chat_id") or ""), str(item["external_id"]))] = text
            if len(self._by_id) > self._remembered:
                self._by_id.popitem(last=False)
