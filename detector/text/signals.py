"""Typed evidence spans in a message: price, age, contact, place, term.

Everything is found on the normalised text (and its same-length match key) and mapped back,
so `start`/`end` always index the ORIGINAL text an analyst sees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from detector.text.ages import find_ages
from detector.text.contacts import find_contacts
from detector.text.gazetteer import PLACES
from detector.text.lexicon import TERMS
from detector.text.matching import Vocabulary, match_key
from detector.text.normalise import Normalised, normalise
from detector.text.prices import find_prices
from detector.text.spans import SpanSet

__all__ = ["Signal", "signals", "SIGNAL_TYPES"]

SIGNAL_TYPES = ("price", "age", "contact", "place", "term")


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
        """A JSON-ready dict of every field."""
        return asdict(self)


@lru_cache(maxsize=1)
def _places() -> Vocabulary:
    return Vocabulary(PLACES)


@lru_cache(maxsize=1)
def _terms() -> Vocabulary:
    return Vocabulary({(subtype, canonical): forms for subtype, entries in TERMS.items()
                       for canonical, forms in entries.items()})


def signals(text: str | Normalised) -> list[Signal]:
    """Every price, age, contact, place and term in `text`, in order of appearance."""
    norm = text if isinstance(text, Normalised) else normalise(text)
    derived = norm.text
    key = match_key(derived)
    taken = SpanSet()
    raw: list[tuple[int, int, str, str | None, Any]] = []
    for a, b, subtype, value in find_contacts(derived, taken):
        raw.append((a, b, "contact", subtype, value))
    for a, b, value in find_prices(derived, key, taken):
        raw.append((a, b, "price", None, value))
    for a, b, value in find_ages(key, taken):
        raw.append((a, b, "age", None, value))
    contacts, contacts_prices = SpanSet(), SpanSet()
    for a, b, kind, _, _ in raw:
        if kind in ("contact", "price"):
            contacts_prices.add(a, b)
            if kind == "contact":
                contacts.add(a, b)
    for m in _places().finditer(key, derived):
        if not contacts_prices.overlaps(m.start, m.end):
            raw.append((m.start, m.end, "place", None, m.canonical))
    for m in _terms().finditer(key, derived):
        if not contacts.overlaps(m.start, m.end):
            subtype, canonical = m.canonical
            raw.append((m.start, m.end, "term", subtype, canonical))
    out = []
    for a, b, kind, subtype, value in sorted(raw, key=lambda r: (r[0], r[1])):
        start, end = norm.to_original(a, b)
        out.append(Signal(kind, subtype, value, start, end, norm.original[start:end]))
    return out
