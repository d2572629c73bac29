"""Display helpers for a message: plain and highlighted segments from its signals, and its direction (pure).

The template escapes every segment and wraps highlighted ones in <mark>; nothing here
produces HTML, so hostile text can never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SIGNAL_TYPES = ("price", "age", "contact", "place", "term")


@dataclass(frozen=True)
class Segment:
    text: str
    kind: str | None = None  # a signal type from SIGNAL_TYPES, or "other"; None when plain
    label: str = ""  # what the highlight means, e.g. "age: 15 (minor)"


def describe(signal: dict[str, Any]) -> str:
    """A short human description of a signal, e.g. 'age 15-15 (minor)'."""
    kind = str(signal.get("type", "signal"))
    subtype = signal.get("subtype")
    value = signal.get("value")
    if kind == "age" and isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
        text = f"age {low}" if low == high else f"age {low}-{high}"
        return text + (" (minor)" if value.get("minor") else "")
    if kind == "price" and isinstance(value, dict):
        amount = value.get("amount")
        shown = f"{amount:,.0f}" if isinstance(amount, (int, float)) and float(amount).is_integer() else amount
        return f"price {shown} {value.get('currency', '')}".strip()
    head = f"{kind} {subtype}" if subtype else kind
    return f"{head}: {value}" if value not in (None, "") else head


def segments(text: str, signals: list[dict[str, Any]] | None) -> list[Segment]:
    """Plain and highlighted segments covering `text`; invalid or overlapping spans are dropped."""
    spans = []
    for signal in signals or []:
        start, end = signal.get("start"), signal.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            spans.append((start, end, signal))
    spans.sort(key=lambda span: (span[0], -span[1]))
    result: list[Segment] = []
    cursor = 0
    for start, end, signal in spans:
        if start < cursor:
            continue
        if start > cursor:
            result.append(Segment(text[cursor:start]))
        kind = signal.get("type")
        result.append(Segment(text[start:end], kind if kind in SIGNAL_TYPES else "other", describe(signal)))
        cursor = end
    if cursor < len(text):
        result.append(Segment(text[cursor:]))
    return result


def has_minor(signals: list[dict[str, Any]] | None) -> bool:
    """True when an age signal says the person offered is a minor."""
    return any(
        s.get("type") == "age" and isinstance(s.get("value"), dict) and bool(s["value"].get("minor"))
        for s in signals or []
    )


RTL_LANGUAGES = frozenset({"ar", "ckb", "fa", "ur", "he", "ps", "sdh"})


def text_direction(language: str | None) -> str:
    """'rtl' for right-to-left languages, else 'auto' (the browser decides from the text)."""
    return "rtl" if language in RTL_LANGUAGES else "auto"
