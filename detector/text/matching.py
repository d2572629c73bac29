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
from typing import Generic, TypeVar, cast

from detector.text.normalise import normalise

__all__ = ["Vocabulary", "alternation", "match_key", "spelling_key"]

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
# Arabic pronoun/plural endings, and Sorani endings: an article, indefinite or plural
# (ەکە ێک ەکان ان) then a possessive or ezafe (مان تان یان ی ە): کۆیلەمان, کچەکەمان.
# Written both as match keys (ە→ه, ێ→ي, ک→ك) and as plain letters for exact spellings.
_ARABIC_SUFFIX = (r"(?:ها|هم|يه|ات|دا|هوه|ش|ين|يكي"
                  r"|(?:هكه|كه|يك|هكان|كان|ان)?(?:مان|تان|يان|ي|ه)?"
                  r"|(?:ەکە|کە|ێک|ەکان|کان|ان)?(?:مان|تان|یان|ی|ە)?)")
# Exact spellings are short words (Kurmanji dîl, Sorani دیل "captive"): in Arabic script only
# the Sorani endings, never a bare -ان or Arabic ending that makes another word (the name دیلان).
_EXACT_SUFFIX = r"(?:(?:ەکە|ێک|ەکان)?(?:مان|تان|یان|ی|ە)?(?:دا)?)"
# Turkish case and plural endings, Kurmanji oblique and indefinite endings (ê ek eke ên ...).
_LATIN_SUFFIX = (r"(?:'?(?:lar|ler|lari|leri|nin|den|dan|ten|tan|de|da|te|ta|ye|ya|yi|ni"
                 r"|eke|eki|ek|en|an|e|a|i|u|ên|ê|î))?")  # ê ên î: exact spellings keep diacritics
_LEFT = r"(?<![^\W_])"
_RIGHT = r"(?![^\W_])"
EXACT = "="


def alternation(keys: Iterable[str]) -> str:
    """A regex matching any of `keys` (a space matches any run of whitespace, or none).

    Built as a character trie, so a position that starts no key fails at once instead of
    trying every key in turn.
    """
    trie: dict = {}
    for key in set(keys):
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_regex(trie) if trie else r"(?!x)x"


def _trie_regex(node: dict) -> str:
    terminal = "" in node
    branches = [(r"\s*" if ch == " " else re.escape(ch)) + _trie_regex(child)
                for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if terminal:
        return f"(?:{body})?"
    return body


def _compile(keys: list[str], exact: bool = False) -> re.Pattern:
    arabic = [k for k in keys if _ARABIC.search(k)]
    latin = [k for k in keys if not _ARABIC.search(k)]
    parts = []
    if arabic:
        prefix, suffix = ("", _EXACT_SUFFIX) if exact else (_ARABIC_PREFIX, _ARABIC_SUFFIX)
        parts.append(rf"{_LEFT}{prefix}(?P<a>{alternation(arabic)}){suffix}{_RIGHT}")
    if latin:
        parts.append(rf"{_LEFT}(?P<l>{alternation(latin)}){_LATIN_SUFFIX}{_RIGHT}")
    return re.compile("|".join(parts) or r"(?!x)x")


K = TypeVar("K")  # a vocabulary's canonical values


@dataclass(frozen=True, slots=True)
class Match(Generic[K]):
    """One vocabulary hit on the derived text: its span and the canonical entry."""

    start: int
    end: int
    canonical: K


class Vocabulary(Generic[K]):
    """Spellings mapped to a canonical value, found word-bounded in a match key.

    A spelling starting with `=` is matched exactly on the normalised text instead (its
    diacritics matter: Kurmanji `dîl` "captive" is not Turkish `dil` "language"); in Arabic
    script with no prefix and only Sorani endings, so it does not match inside names (دیلان).
    """

    def __init__(self, spellings: Mapping[K, Iterable[str]]) -> None:
        self._lookup: dict[str, K] = {}
        self._exact: dict[str, K] = {}
        for canonical, forms in spellings.items():
            for form in forms:
                if form.startswith(EXACT):
                    exact = _SPACES.sub(" ", normalise(form[1:]).text).strip()
                    self._exact[exact.replace(" ", "")] = canonical
                else:
                    self._lookup[spelling_key(form).replace(" ", "")] = canonical
        self._pattern = _compile([spelling_key(f) for fs in spellings.values() for f in fs if f[:1] != EXACT])
        exact_forms = [_SPACES.sub(" ", normalise(f[1:]).text).strip()
                       for fs in spellings.values() for f in fs if f[:1] == EXACT]
        self._exact_pattern = _compile(exact_forms, exact=True) if exact_forms else None

    @staticmethod
    def _hits(pattern: re.Pattern, text: str, lookup: dict[str, K]) -> Iterator[Match[K]]:
        for m in pattern.finditer(text):
            # every alternative of a `_compile` pattern is one named group (a or l)
            canonical = lookup.get(_SPACES.sub("", m.group(cast(str, m.lastgroup))))
            if canonical is not None:
                yield Match(m.start(), m.end(), canonical)

    def finditer(self, key: str, derived: str) -> list[Match[K]]:
        """Every hit in the match key (and exact spellings in the derived text), in order."""
        hits = list(self._hits(self._pattern, key, self._lookup))
        if self._exact_pattern is not None:
            for m in self._hits(self._exact_pattern, derived, self._exact):
                if not any(h.start < m.end and m.start < h.end for h in hits):
                    hits.append(m)
            hits.sort(key=lambda h: h.start)
        return hits
