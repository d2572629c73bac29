"""Spellings that dodge keyword filters: s.l.a.v.e, س ب ي ة, g1rl, stretched Arabic.

Styles are partitioned like phrasings: train, val and test each write words their own way.
"""

from __future__ import annotations

import random

from .partition import pick

_LEET = str.maketrans({"a": "4", "i": "1", "e": "3", "o": "0", "s": "$", "l": "1"})
_TATWEEL = "ـ"


def _is_arabic(word: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in word)


def _dots(word: str, rng: random.Random) -> str:
    return ".".join(word)


def _spaces(word: str, rng: random.Random) -> str:
    return " ".join(word)


def _leet_or_stretch(word: str, rng: random.Random) -> str:
    if _is_arabic(word):
        return _TATWEEL.join(word) if len(word) < 6 else word[:2] + _TATWEEL * 3 + word[2:]
    return word.lower().translate(_LEET)


def _dashes(word: str, rng: random.Random) -> str:
    return rng.choice(("-", "*")).join(word)


def _irregular(word: str, rng: random.Random) -> str:
    out = [word[0]]
    for ch in word[1:]:
        out.append(rng.choice(("_", " ", "", "..", "_")) + ch)
    return "".join(out)


STYLES = (_dots, _spaces, _leet_or_stretch, _dashes, _irregular)


def obfuscate(text: str, rng: random.Random, split: str, rate: float = 0.6) -> str:
    """Rewrite words of 3+ letters in one of the split's styles; the longest word always."""
    style = pick(rng, STYLES, split)
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 3]
    longest = max(candidates, key=lambda i: len(words[i]), default=-1)
    return " ".join(
        style(w, rng) if i in candidates and (i == longest or rng.random() < rate) else w
        for i, w in enumerate(words)
    )
