"""Redaction for wider distribution (pure): victims' names and the family's phones masked,
the seller's contacts kept.

The rule is deliberately simple, and the report header states it:
1. Every value the analyst marked on the case (`Case.masked`: a victim's name, a family
   phone number) is masked wherever it appears in a message, a translation or a note.
   Phone numbers match on their digits, whatever the spacing or script of the digits.
2. A phone number is also masked when a missing-person or family word (missing, family,
   mother, مفقود, عائلة, خانواده, kayıp, malbat, ...) comes before it in the same clause
   (no comma or full stop between them): that is a relative's number, not the seller's.
3. Every other contact (the seller's phone, username, links) is kept: it is the lead.
4. Photos are left out or blurred; originals never go into a redacted report.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any

from detector.text.names import find_names

NAME_MASK = "[name withheld]"
PHONE_MASK = "[family phone withheld]"
FAMILY_WINDOW = 80  # characters before a phone number searched for family words
FAMILY_WORDS = (
    "missing", "family", "mother", "father", "brother", "sister", "relatives", "parents", "husband", "searching for",
    "مفقود", "مفقودة", "عائلة", "عائلتها", "عائلته", "أهل", "اهل", "أمها", "والدة", "والد", "أخوها", "ذوي", "يبحث",
    "گمشده", "خانواده", "مادر", "پدر", "برادر",
    "kayıp", "aile", "annesi", "babası", "kardeşi",
    "winda", "malbat", "malbata", "dayika", "bav",
    "ونبوو", "بزربوو", "خێزان", "دایک", "باوک",
)
REDACTION_NOTE = (
    "Redacted for wider distribution: victims' names and family phone numbers marked by the analyst are "
    "masked, as is any phone number that follows a missing-person or family word in the same clause (a relative's number); "
    "the seller's contacts are kept; photos are left out or blurred, never shown in the original."
)
_CLAUSE = re.compile(r"[.,;!?\n\u060c\u061b\u061f]")
_FAMILY = re.compile("|".join(re.escape(w) for w in FAMILY_WORDS), re.IGNORECASE)


def digits(text: str) -> str:
    """The digits of a text in any script, as ASCII (for matching phone numbers)."""
    return "".join(str(unicodedata.digit(ch)) for ch in text if unicodedata.digit(ch, None) is not None)


def _is_phone(value: str) -> bool:
    return len(digits(value)) >= 7 and not re.search(r"[^\d\s+().\-\u0660-\u0669\u06f0-\u06f9]", value)


@dataclass(frozen=True)
class Masks:
    """What to mask: names (exact text, case-insensitive) and phones (by their digits)."""

    names: tuple[str, ...]
    phones: tuple[str, ...]

    @classmethod
    def from_values(cls, values: list[str] | None) -> "Masks":
        values = [v for v in (values or []) if v.strip()]
        return cls(tuple(sorted((v for v in values if not _is_phone(v)), key=len, reverse=True)),
                   tuple(digits(v) for v in values if _is_phone(v)))


def alert_masks(text: str, marked: Iterable[str]) -> Masks:
    """For alerts: the analysts' marked values plus every name the text introduces ("her name is …")."""
    return Masks.from_values([*marked, *(name.text for name in find_names(text))])


def family_phone(text: str, start: int) -> bool:
    """True when a family or missing-person word precedes `start` in the same clause (80 characters at most)."""
    window = _CLAUSE.split(text[max(0, start - FAMILY_WINDOW):start])[-1]
    return bool(_FAMILY.search(window))


def _masked_phone(signal: dict[str, Any], text: str, masks: Masks) -> bool:
    if signal.get("type") != "contact" or signal.get("subtype") != "phone":
        return False
    number = digits(str(signal.get("value") or signal.get("text") or ""))
    if any(_same_phone(number, phone) for phone in masks.phones):
        return True
    start = signal.get("start")
    return isinstance(start, int) and family_phone(text, start)


_DIGIT = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_PHONE_RUN = re.compile(rf"\+?{_DIGIT}(?:[\s\-().]*{_DIGIT}){{6,}}")


def _same_phone(a: str, b: str) -> bool:
    """Two digit strings name the same number (one may carry a country code the other lacks)."""
    return len(a) >= 7 and len(b) >= 7 and (a.endswith(b[-9:]) or b.endswith(a[-9:]))


def mask_names(text: str, masks: Masks) -> str:
    """Mask the marked names and phone numbers in free text (a message, a translation, a note)."""
    for name in masks.names:
        text = re.sub(re.escape(name), NAME_MASK, text, flags=re.IGNORECASE)
    if masks.phones:
        text = _PHONE_RUN.sub(
            lambda m: PHONE_MASK if any(_same_phone(digits(m[0]), p) for p in masks.phones) else m[0], text)
    return text


def masked_phones(text: str, signals: list[dict[str, Any]], masks: Masks) -> set[str]:
    """Digits of every phone number in the message that redaction masks (for its linked entities too)."""
    found = {digits(str(s.get("value") or s.get("text") or "")) for s in signals if _masked_phone(s, text, masks)}
    return found | set(masks.phones)


def is_masked_phone(value: str, phones: set[str]) -> bool:
    return any(_same_phone(digits(value), p) for p in phones)


def redact_message(text: str, signals: list[dict[str, Any]], masks: Masks) -> tuple[str, list[dict[str, Any]]]:
    """The message text and signals with victims' names and family phones masked (seller's contacts kept)."""
    masked = [_masked_phone(s, text, masks) for s in signals]
    spans = sorted({(s["start"], s["end"]) for s, m in zip(signals, masked)
                    if m and isinstance(s.get("start"), int) and isinstance(s.get("end"), int)}, reverse=True)
    for start, end in spans:
        text = text[:start] + PHONE_MASK + text[end:]
    cleaned = []
    for signal, hide in zip(signals, masked):
        clean = {k: v for k, v in signal.items() if k not in ("start", "end")}
        if hide:
            clean.update(value=PHONE_MASK, text=PHONE_MASK)
        elif isinstance(clean.get("text"), str):
            clean["text"] = mask_names(clean["text"], masks)
        cleaned.append(clean)
    return mask_names(text, masks), cleaned
