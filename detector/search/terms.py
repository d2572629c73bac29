"""What search indexes and what a query asks for: pure functions, no database.

Both the indexed text and the query pass through the project's normaliser
(`detector.text.normalise`: Arabic letter variants, digits, diacritics, look-alikes), then
are cut into words of letters and digits. The index stores those words joined by single
spaces, so SQLite FTS5 and PostgreSQL's 'simple' parser see the very same words. Phone
numbers found by the signal finder are indexed once more as their E.164 digits, so a number
written `0770 555 0199` is found by `+964 770 555 0199` and the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from detector.text.normalise import normalise

WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 12  # a longer query is cut: each word is one more index lookup


def words(text: str) -> list[str]:
    """The searchable words of already normalised text."""
    return WORD.findall(text)


def phone_terms(signals: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """The E.164 digits (no '+') of the phone contacts among stored signals."""
    return [str(s["value"]).lstrip("+") for s in signals or ()
            if s.get("type") == "contact" and s.get("subtype") == "phone" and s.get("value")]


def index_body(normalised_text: str, signals: Iterable[Mapping[str, Any]] | None) -> str:
    """The indexed form of a message: its normalised words, then its phone numbers' digits."""
    return " ".join([*words(normalised_text), *phone_terms(signals)])


def body_of(text: str | None, signals: Iterable[Mapping[str, Any]] | None) -> str:
    """`index_body` of a raw message text (normalised here)."""
    return index_body(normalise(text or "").text, signals)


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: every word must begin a word of the message (prefix match), or the
    message carries one of the phone numbers exactly."""

    words: tuple[str, ...]
    phones: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.words or self.phones)

    def fts5(self) -> str:
        """The SQLite FTS5 MATCH expression (every word quoted: no operator reaches FTS5)."""
        parts = []
        if self.words:
            parts.append("(" + " ".join(f'"{w}"*' for w in self.words) + ")")
        parts += [f'"{p}"' for p in self.phones]
        return " OR ".join(parts)

    def tsquery(self) -> str:
        """The PostgreSQL to_tsquery('simple', ...) expression (words are letters and digits only)."""
        parts = []
        if self.words:
            parts.append("(" + " & ".join(f"{w}:*" for w in self.words) + ")")
        parts += self.phones
        return " | ".join(parts)


def parse_query(query: str) -> SearchQuery:
    """Normalise a user's search and split it into words; a phone number in it also
    matches its E.164 form."""
    from detector.text import signals

    norm = normalise(query[:500])
    found = [s.to_dict() for s in signals(norm)]
    unique = list(dict.fromkeys(words(norm.text)))[:MAX_WORDS]
    return SearchQuery(tuple(unique), tuple(dict.fromkeys(phone_terms(found))))
