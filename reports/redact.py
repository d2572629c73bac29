"""Redaction for wider distribution (pure): victims' names and the family's phones masked,
the seller's contacts kept.

The rule is deliberately simple, and the report header states it:
1. Every value the analyst marked on the case (`Case.masked`: a victim's name, a family
   phone number, a place, a username) is masked wherever it appears in a message, a translation
   or a note. Phone numbers match on their digits, whatever the spacing or script of the digits.
2. A phone number is also masked when a missing-person or family word (missing, family,
   mother, مفقود, عائلة, خانواده, kayıp, malbat, ...) comes before it in the same clause
   (no comma or full stop between them): that is a relative's number, not the seller's.
3. Every other contact (the seller's phone, username, links) is kept: it is the lead.
4. Photos are left out or blurred; originals never go into a redacted report.

Each masked value says what it was: "[name withheld]", "[phone withheld]", "[family phone
withheld]" (rule 2), "[place withheld]", "[username withheld]", "[email withheld]", "[link withheld]".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any

from detector.link.contacts import entity_key
from detector.text import signals as text_signals
from detector.text.names import find_names

NAME_MASK = "[name withheld]"
PHONE_MASK = "[phone withheld]"  # a phone number the analyst marked
FAMILY_PHONE_MASK = "[family phone withheld]"  # a phone number after a family word (rule 2)
PLACE_MASK = "[place withheld]"
CONTACT_MASKS = {"phone": PHONE_MASK, "username": "[username withheld]", "email": "[email withheld]",
                 "telegram_link": "[link withheld]", "whatsapp_link": "[link withheld]"}
MASK_LABELS = frozenset({NAME_MASK, PHONE_MASK, FAMILY_PHONE_MASK, PLACE_MASK, *CONTACT_MASKS.values()})
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
    "Redacted for wider distribution: victims' names, family phone numbers and other values marked by the analyst "
    "are masked, as is any phone number that follows a missing-person or family word in the same clause (a relative's "
    "number); each masked value says what it was, e.g. [name withheld], [family phone withheld], [place withheld]; "
    "the seller's contacts are kept; photos are left out or blurred, never shown in the original."
)
_CLAUSE = re.compile(r"[.,;!?\n\u060c\u061b\u061f]")
_FAMILY = re.compile("|".join(re.escape(w) for w in FAMILY_WORDS), re.IGNORECASE)


def digits(text: str) -> str:
    """The digits of a text in any script, as ASCII (for matching phone numbers)."""
    return "".join(str(unicodedata.digit(ch)) for ch in text if unicodedata.digit(ch, None) is not None)


def _is_phone(value: str) -> bool:
    return len(digits(value)) >= 7 and not re.search(r"[^\d\s+().\-\u0660-\u0669\u06f0-\u06f9]", value)


def mask_label(value: str) -> str:
    """What a marked value is, as its mask: a place or a contact when the text layer reads the whole
    value as one, a phone number by its digits, otherwise a name."""
    if _is_phone(value):
        return PHONE_MASK
    value = value.strip()
    whole = [s for s in text_signals(value) if s.start == 0 and s.end == len(value)]
    for signal in whole:
        if signal.type == "place":
            return PLACE_MASK
        if signal.type == "contact" and signal.subtype in CONTACT_MASKS:
            return CONTACT_MASKS[signal.subtype]
    return NAME_MASK


@dataclass(frozen=True)
class Masks:
    """What to mask: texts (exact, case-insensitive, longest first, each with its label) and phones (by digits)."""

    texts: tuple[tuple[str, str], ...]
    phones: tuple[str, ...]

    @classmethod
    def from_values(cls, values: Iterable[str] | None) -> "Masks":
        values = [v for v in (values or []) if v.strip()]
        texts = {v: mask_label(v) for v in values if not _is_phone(v)}
        return cls(_longest_first(texts), tuple(digits(v) for v in values if _is_phone(v)))


def _longest_first(texts: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(texts.items(), key=lambda item: (-len(item[0]), item[0])))


def alert_masks(text: str, marked: Iterable[str]) -> Masks:
    """For alerts: the analysts' marked values plus every name the text introduces ("her name is …")."""
    masks = Masks.from_values(marked)
    found = {name.text: NAME_MASK for name in find_names(text)}
    return Masks(_longest_first({**found, **dict(masks.texts)}), masks.phones)


def family_phone(text: str, start: int) -> bool:
    """True when a family or missing-person word precedes `start` in the same clause (80 characters at most)."""
    window = _CLAUSE.split(text[max(0, start - FAMILY_WINDOW):start])[-1]
    return bool(_FAMILY.search(window))


def _phone_label(number: str, text: str, start: int | None, masks: Masks) -> str | None:
    """The mask of a phone number found in `text` at `start` (None: it stays, e.g. the seller's)."""
    if isinstance(start, int) and family_phone(text, start):
        return FAMILY_PHONE_MASK
    return PHONE_MASK if any(_same_phone(number, phone) for phone in masks.phones) else None


def _signal_mask(signal: dict[str, Any], text: str, masks: Masks) -> str | None:
    if signal.get("type") != "contact" or signal.get("subtype") != "phone":
        return None
    number = digits(str(signal.get("value") or signal.get("text") or ""))
    return _phone_label(number, text, signal.get("start"), masks)


_DIGIT = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_PHONE_RUN = re.compile(rf"\+?{_DIGIT}(?:[\s\-().]*{_DIGIT}){{6,}}")


def _same_phone(a: str, b: str) -> bool:
    """Two digit strings name the same number (one may carry a country code the other lacks)."""
    return len(a) >= 7 and len(b) >= 7 and (a.endswith(b[-9:]) or b.endswith(a[-9:]))


def mask_names(text: str, masks: Masks) -> str:
    """Mask the marked values and the marked and family phone numbers in free text (a message, a
    translation, a note), each by its label."""
    for value, label in masks.texts:
        text = re.sub(re.escape(value), label, text, flags=re.IGNORECASE)
    return _PHONE_RUN.sub(lambda m: _phone_label(digits(m[0]), text, m.start(), masks) or m[0], text)


def masked_phones(text: str, signals: list[dict[str, Any]], masks: Masks) -> dict[str, str]:
    """Digits of every phone number in the message that redaction masks, with its label (for linked entities)."""
    found = {phone: PHONE_MASK for phone in masks.phones}
    for signal in signals:
        label = _signal_mask(signal, text, masks)
        if label:
            found[digits(str(signal.get("value") or signal.get("text") or ""))] = label
    return found


def phone_mask(value: str, phones: dict[str, str]) -> str | None:
    """The label of `value` when it is one of the masked `phones` (None when it is kept)."""
    return next((label for phone, label in phones.items() if _same_phone(digits(value), phone)), None)


def redact_message(text: str, signals: list[dict[str, Any]], masks: Masks) -> tuple[str, list[dict[str, Any]]]:
    """The message text and signals with victims' names, family phones and marked values masked (seller's kept)."""
    labels = [_signal_mask(s, text, masks) for s in signals]
    spans = sorted({(s["start"], s["end"], label) for s, label in zip(signals, labels)
                    if label and isinstance(s.get("start"), int) and isinstance(s.get("end"), int)}, reverse=True)
    for start, end, label in spans:
        text = text[:start] + label + text[end:]
    cleaned = []
    for signal, signal_label in zip(signals, labels):
        clean = {k: v for k, v in signal.items() if k not in ("start", "end")}
        if signal_label:
            clean.update(value=signal_label, text=signal_label)
        elif isinstance(clean.get("text"), str):
            masked = mask_names(clean["text"], masks)
            if masked != clean["text"]:  # a marked place or username: its canonical value goes too
                clean.update(value=masked, text=masked)
        cleaned.append(clean)
    return mask_names(text, masks), cleaned


def masked_entities(signals: list[dict[str, Any]], cleaned: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """The linked entities (kind, key) of the contacts that redaction masked (`cleaned` from `redact_message`),
    each with its label: a masked username must not come back as the key of its Telegram entity."""
    hidden = {}
    for signal, clean in zip(signals, cleaned):
        if signal.get("type") == "contact" and clean.get("value") in MASK_LABELS:
            key = entity_key(str(signal.get("subtype", "")), str(signal.get("value", "")))
            if key is not None:
                hidden[key] = str(clean["value"])
    return hidden
