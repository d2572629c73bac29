"""Display helpers for a message: plain and highlighted segments from its signals, and its direction (pure).

The template escapes every segment and wraps highlighted ones in <mark>; nothing here
produces HTML, so hostile text can never become markup.

Inside right-to-left text the Unicode bidi algorithm lays out the digit groups of
`+964 770 555 0199` (or `22:53 07-03-2025`) right to left. Segments whose `direction` is
"ltr" (contacts, phone numbers, dates and times) are shown isolated left to right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SIGNAL_TYPES = ("price", "age", "contact", "place", "term")
# Digit groups joined by single separators (any script's digits: Arabic-Indic and Persian too).
_NUMBER_RUN = re.compile(r"\+?\d+(?:[ \u00a0\-./:]\d+)+|\+\d+")
_GROUP_SPACES = re.compile(r"[ \u00a0]")


@dataclass(frozen=True)
class Segment:
    text: str
    kind: str | None = None  # a signal type from SIGNAL_TYPES, or "other"; None when plain
    label: str = ""  # what the highlight means, e.g. "age: 15 (minor)"
    direction: str | None = None  # "ltr": show isolated, left to right (contacts, numbers, dates)


def is_number_run(text: str) -> bool:
    """True for digits that read left to right as one unit: `+964`, dates and times, or a
    phone-like run of 3+ groups; two space-separated numbers (`15 500`) stay separate words."""
    if not _NUMBER_RUN.fullmatch(text):
        return False
    groups = _GROUP_SPACES.split(text)
    return text.startswith("+") or any(c in "-./:" for c in text) or len(groups) >= 3


def isolate_numbers(text: str) -> list[Segment]:
    """Plain segments of `text`, number runs (see `is_number_run`) marked left to right."""
    result: list[Segment] = []
    cursor = 0
    for match in _NUMBER_RUN.finditer(text):
        if not is_number_run(match.group()):
            continue
        if match.start() > cursor:
            result.append(Segment(text[cursor:match.start()]))
        result.append(Segment(match.group(), direction="ltr"))
        cursor = match.end()
    if cursor < len(text):
        result.append(Segment(text[cursor:]))
    return result


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
    """Plain and highlighted segments covering `text`; invalid or overlapping spans are dropped.

    Contacts and number runs (`is_number_run`) carry direction "ltr"."""
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
            result += isolate_numbers(text[cursor:start])
        kind = signal.get("type")
        shown = text[start:end]
        ltr = kind == "contact" or is_number_run(shown.strip())
        result.append(Segment(shown, kind if kind in SIGNAL_TYPES else "other", describe(signal),
                              "ltr" if ltr else None))
        cursor = end
    if cursor < len(text):
        result += isolate_numbers(text[cursor:])
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
