"""Typed evidence spans in a message: price, age, contact, place, term.

Everything is found on the normalised text (and its same-length match key) and mapped back,
so `start`/`end` always index the ORIGINAL text an analyst sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from detector.text.ages import find_ages
from detector.text.contacts import find_handles, find_phones
from detector.text.gazetteer import PLACES
from detector.text.lexicon import TERMS
from detector.text.matching import Vocabulary, match_key
from detector.text.normalise import Normalised, normalise
from detector.text.prices import find_prices
from detector.text.spans import SpanSet

__all__ = ["Signal", "signals", "SIGNAL_TYPES"]

SIGNAL_TYPES = ("price", "age", "contact", "place", "term")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Signal:
    """One span of evidence; `start`/`end` are offsets in the original text, `text` its characters."""

    type: str
    subtype: str | None
    value: Any
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (a value dict is copied, as `dataclasses.asdict` would)."""
        value = dict(self.value) if isinstance(self.value, dict) else self.value
        return {"type": self.type, "subtype": self.subtype, "value": value, "start": self.start, "end": self.end,
                "text": self.text}


@lru_cache(maxsize=1)
def _words() -> Vocabulary[tuple[str, str | None, str]]:
    """Places and terms in one vocabulary: one scan finds both."""
    entries: dict[tuple[str, str | None, str], tuple[str, ...]] = {
        ("place", None, name): spellings for name, spellings in PLACES.items()}
    for subtype, terms in TERMS.items():
        entries.update({("term", subtype, canonical): forms for canonical, forms in terms.items()})
    return Vocabulary(entries)


def signals(text: str | Normalised) -> list[Signal]:
    """Every price, age, contact, place and term in `text`, in order of appearance."""
    norm = text if isinstance(text, Normalised) else normalise(text)
    derived = norm.text
    key = match_key(derived)
    taken = SpanSet()  # spans claimed by contacts, prices and ages (they never overlap)
    raw: list[tuple[int, int, str, str | None, Any]] = []
    contacts, contacts_and_prices = SpanSet(), SpanSet()
    subtype: str | None
    value: Any

    def keep(a: int, b: int, kind: str, subtype: str | None, value: Any) -> None:
        raw.append((a, b, kind, subtype, value))
        if kind != "age":
            contacts_and_prices.add(a, b)
        if kind == "contact":
            contacts.add(a, b)

    for a, b, subtype, value in find_handles(derived, taken):
        keep(a, b, "contact", subtype, value)
    for a, b, value in find_prices(derived, key, taken):  # before phones: 3200000 IQD is no phone
        keep(a, b, "price", None, value)
    for a, b, subtype, value in find_phones(derived, taken):
        keep(a, b, "contact", subtype, value)
    if _DIGIT.search(derived):  # every age has digits
        for a, b, value in find_ages(key, taken):
            keep(a, b, "age", None, value)
    for m in _words().finditer(key, derived):
        kind, subtype, value = m.canonical
        # A place inside a contact or a currency name (دينار كويتي) is no place; a term
        # inside a username or link is part of that contact.
        if not (contacts_and_prices if kind == "place" else contacts).overlaps(m.start, m.end):
            raw.append((m.start, m.end, kind, subtype, value))
    out = []
    for a, b, kind, subtype, value in sorted(raw, key=lambda r: (r[0], r[1])):
        start, end = norm.to_original(a, b)
        out.append(Signal(kind, subtype, value, start, end, norm.original[start:end]))
    return out
