"""Vocabulary matching on a spelling-tolerant key of the normalised text.

`match_key` rewrites normalised text one character for one character (so offsets stay
valid): Latin diacritics dropped (ş→s, ı→i, ê→e), Persian/Kurdish letters onto their
Arabic counterparts (ی→ي, ک→ك, ە→ه, ڵ→ل), ZWNJ and dashes to spaces. A vocabulary
(`Vocabulary`) compiles every spelling through the same key and finds them with Arabic
proclitics (و ف ب ل ك ال) and short case suffixes allowed around the word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from detector.text.normalise import normalise

__all__ = ["Vocabulary", "match_key"]

_KEY_PAIRS = {
    "ı": "i", "ş": "s", "ç": "c", "ğ": "g", "ö": "o", "ü": "u", "ê": "e", "î": "i", "û": "u",
    "â": "a", "é": "e", "è": "e", "à": "a", "á": "a", "í": "i", "ó": "o", "ú": "u", "ô": "o",
    "ë": "e", "ï": "i", "ä": "a", "ñ": "n",
    "ة": "ه", "ی": "ي", "ک": "ك", "ۆ": "و", "ێ": "ي", "ە": "ه", "ڵ": "ل", "ڕ": "ر", "ڤ": "ف",
    "ھ": "ه", "گ": "ك", "چ": "ج", "پ": "ب", "ژ": "ز", "ئ": "ي", "ؤ": "و",
    "\u200c": " ", "-": " ", "_": " ", "’": "'", "‘": "'", "`": "'", "´": "'",
}
_KEY_TABLE = str.maketrans(_KEY_PAIRS)
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_SPACES = re.compile(r"\s+")


def match_key(normalised_text: str) -> str:
    """Same-length matching key of a normalised text."""
    return normalised_text.translate(_KEY_TABLE)


def spelling_key(spelling: str) -> str:
    """Key of one vocabulary spelling, with runs of spaces collapsed."""
    return _SPACES.sub(" ", match_key(normalise(spelling).text)).strip()


_ARABIC_PREFIX = r"(?:(?:و|ف)?(?:ب|ك|ل)?(?:ال)?|و?لل)"
_ARABIC_SUFFIX = r"(?:ها|هم|ه|ي|يه|ات|دا|هوه|كان|ان|ش)?"
_LATIN_SUFFIX = r"(?:'?(?:nin|nin|den|dan|ten|tan|de|da|te|ta|ye|ya|yi|ni|e|a|i|u))?"
_LEFT = r"(?<![^\W_])"
_RIGHT = r"(?![^\W_])"


def _alternation(keys: Iterable[str]) -> str:
    ordered = sorted(set(keys), key=len, reverse=True)
    return "|".join(re.escape(k).replace(r"\ ", r"\s*") for k in ordered)


@dataclass(frozen=True, slots=True)
class Match:
    """One vocabulary hit on the derived text: its span and the canonical entry."""

    start: int
    end: int
    canonical: object


class Vocabulary:
    """Spellings mapped to a canonical value, found word-bounded in a match key."""

    def __init__(self, spellings: Mapping[object, Iterable[str]], *, affixes: bool = True) -> None:
        self._lookup: dict[str, object] = {}
        for canonical, forms in spellings.items():
            for form in forms:
                self._lookup[spelling_key(form).replace(" ", "")] = canonical
        arabic = [k for k in self._keys(spellings) if _ARABIC.search(k)]
        latin = [k for k in self._keys(spellings) if not _ARABIC.search(k)]
        pre, a_suf, l_suf = (_ARABIC_PREFIX, _ARABIC_SUFFIX, _LATIN_SUFFIX) if affixes else ("", "", "")
        parts = []
        if arabic:
            parts.append(rf"{_LEFT}{pre}(?P<a>{_alternation(arabic)}){a_suf}{_RIGHT}")
        if latin:
            parts.append(rf"{_LEFT}(?P<l>{_alternation(latin)}){l_suf}{_RIGHT}")
        self._pattern = re.compile("|".join(parts) or r"(?!x)x")

    @staticmethod
    def _keys(spellings: Mapping[object, Iterable[str]]) -> Iterator[str]:
        for forms in spellings.values():
            for form in forms:
                yield spelling_key(form)

    def finditer(self, key: str) -> Iterator[Match]:
        """Every non-overlapping hit in a match key, leftmost-longest."""
        for m in self._pattern.finditer(key):
            core = m.group(m.lastgroup)
            canonical = self._lookup.get(_SPACES.sub("", core))
            if canonical is not None:
                yield Match(m.start(), m.end(), canonical)
