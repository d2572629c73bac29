"""A score's reasons in words an analyst uses (pure): what was found, and what the model weighed.

The stored reasons (`reasons.batch_reasons`, `model.Model.predict`: `{"kind", "feature", "weight"}`)
speak the model's language: hashed-word weights, signal features such as "minor + price", the
meaning tier's probability. `explain(reasons, signals)` turns them and a message's stored signals
into two groups with no raw weights, no duplicates and no attachment file names. Nothing here
produces HTML: values from the message are kept apart (`Line.value`) for the template to escape
and isolate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..text.matching import spelling_key

# The fast tier's signal features (features.SIGNAL_FEATURES) as an analyst would say them.
FEATURE_WORDS = {
    "price": "a price",
    "age": "an age",
    "minor age": "a child's age",
    "contact": "contact details",
    "phone": "a phone number",
    "username or link": "a username or link",
    "place": "a place name",
    "person term": "a word for a person",
    "person + sale": "a person together with a sale word",
    "person + auction": "a person together with an auction word",
    "person + wanted": "a person together with a \u201cwanted\u201d word",
    "person + transfer": "a person together with a transfer word",
    "person + price": "a person together with a price",
    "person + age": "a person together with an age",
    "person + minor": "a person together with a child's age",
    "people counted": "people counted",
    "hidden person word": "a word for a person hidden in other letters",
    "age + price": "an age together with a price",
    "minor + price": "a child's age together with a price",
    "trade term + price": "a trade word together with a price",
    "several terms": "several trade words",
    "short text": "a very short message",
    "long text": "a long message",
}
CONTACT_WORDS = {"phone": "phone", "username": "username", "telegram_link": "Telegram link",
                 "whatsapp_link": "WhatsApp link", "email": "e-mail"}
TERM_WORDS = {"person": "word for a person", "sale": "sale word", "wanted": "\u201cwanted\u201d word",
              "auction": "auction word", "transfer": "transfer word"}
_FILE_NAME = re.compile(r"\S*\.(?:jpe?g|png|webp|gif|heic|mp4|3gp|mov|opus|ogg|m4a|mp3|pdf|docx?|vcf|webm)\b",
                        re.IGNORECASE)  # the attachment names of features._ATTACHMENT
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTER = re.compile(r"[\W\d_]+")


@dataclass(frozen=True)
class Line:
    """One line of an explanation: our words (`label`), then a value taken from the message or the
    model (`value`, shown isolated; left to right when `ltr`), then more of our words (`note`)."""

    label: str
    value: str = ""
    note: str = ""
    ltr: bool = False
    kind: str = ""  # a signal type (found), "word" or "combination" (weighed), "" for a reading


@dataclass(frozen=True)
class Explanation:
    """What was found in the message, and what the model weighed (its reading, then the words and
    combinations that raised or lowered the score, strongest first)."""

    found: list[Line] = field(default_factory=list)
    readings: list[Line] = field(default_factory=list)
    raised: list[Line] = field(default_factory=list)
    lowered: list[Line] = field(default_factory=list)

    @property
    def weighed(self) -> bool:
        return bool(self.readings or self.raised or self.lowered)


def found_line(signal: dict[str, Any]) -> Line | None:
    """A stored signal (`Signal.to_dict()`) in words, e.g. age 14 (a minor); None for one unreadable."""
    kind, subtype, value = signal.get("type"), signal.get("subtype"), signal.get("value")
    written = str(signal.get("text") or "").strip()
    if kind == "age" and isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
        return Line("age", f"{low}" if low == high else f"{low}\u2013{high}",
                    "a minor" if value.get("minor") else "", True, "age")
    if kind == "price" and isinstance(value, dict) and isinstance(value.get("amount"), (int, float)):
        amount = float(value["amount"])
        shown = f"{amount:,.0f}" if amount.is_integer() else f"{amount:,.2f}"
        return Line("price", f"{shown} {value.get('currency', '')}".strip(), ltr=True, kind="price")
    if kind == "contact" and value:
        return Line(CONTACT_WORDS.get(str(subtype), "contact"), str(value), ltr=True, kind="contact")
    if kind == "place" and value:
        return Line("place", str(value), kind="place")
    if kind == "term" and (written or value):
        return Line(TERM_WORDS.get(str(subtype), "trade word"), written or str(value), kind="term")
    return None


def reading_line(reason: dict[str, Any]) -> Line | None:
    """The meaning tier's or the thread's reading as words, its probability kept (0 to 1)."""
    weight = float(reason.get("weight", 0))
    reads = "reads like a listing" if weight >= 0.5 else "does not read like a listing"
    if reason.get("kind") == "transformer":
        return Line("meaning:", note=f"{reads} ({weight:.2f})")
    if reason.get("kind") == "context":
        return Line("thread:", note=f"read together with the messages before it, it {reads} ({weight:.2f})")
    return None


def weighed_line(reason: dict[str, Any]) -> Line | None:
    """A word of the message or a signal feature that moved the score; None for what an analyst
    cannot use (attachment file names, bare numbers and punctuation)."""
    feature = str(reason.get("feature", "")).strip()
    if reason.get("kind") == "signal":
        return Line(FEATURE_WORDS.get(feature, feature.replace(" + ", " together with ")), kind="combination")
    if reason.get("kind") == "ngram" and _LETTER.search(feature) and not _FILE_NAME.search(feature):
        return Line("", feature, kind="word")
    return None


def _key(line: Line) -> str:
    return f"{line.label}\x00{_NOT_LETTER.sub(' ', spelling_key(line.value)).strip() or line.value}\x00{line.note}"


def _unique(lines: Iterable[Line]) -> list[Line]:
    """The lines in order, each said once (words compared as the matcher does: case, Arabic-script
    letter variants and punctuation around them do not make another word)."""
    seen: set[str] = set()
    result = []
    for line in lines:
        if _key(line) not in seen:
            seen.add(_key(line))
            result.append(line)
    return result


def explain(reasons: Iterable[dict[str, Any]] | None, signals: Iterable[dict[str, Any]] | None) -> Explanation:
    """The display groups for a message's stored signals and its score's stored reasons."""
    found = _unique(line for line in map(found_line, signals or []) if line)
    reasons = list(reasons or [])
    readings = _unique(line for line in map(reading_line, reasons) if line)
    raised: list[Line] = []
    lowered: list[Line] = []
    seen: set[str] = set()
    for reason in sorted((r for r in reasons if r.get("kind") in ("ngram", "signal")),
                         key=lambda r: -abs(float(r.get("weight", 0)))):  # each word once: its strongest
        weight, line = float(reason.get("weight", 0)), weighed_line(reason)
        if line is None or weight == 0 or _key(line) in seen:
            continue
        seen.add(_key(line))
        (raised if weight > 0 else lowered).append(line)
    return Explanation(found, readings, raised, lowered)
