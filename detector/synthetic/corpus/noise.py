"""Informal spelling: what people type on a phone keyboard without the right layout.

Arabic drops hamzas, writes ة as ه and 4 آلاف for 4,000; English writes 16yo and 4k; Sorani typed on an Arabic keyboard loses
ڕ and ڵ; Kurmanji and Turkish lose their diacritics; everyone drops punctuation
and capitals. Applied to both labels alike, in every split (it is spelling, not
phrasing), and never inside links, usernames or numbers.
"""

from __future__ import annotations

import random
import re

_ARABIC = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})
_SORANI = str.maketrans({"ڕ": "ر", "ڵ": "ل"})
_PERSIAN = str.maketrans({"\u200c": " "})
_KURMANJI = str.maketrans({"ê": "e", "î": "i", "û": "u", "ç": "c", "ş": "s", "Ê": "E", "Î": "I", "Û": "U", "Ç": "C", "Ş": "S"})
_TURKISH = str.maketrans({"ı": "i", "ş": "s", "ğ": "g", "ü": "u", "ö": "o", "ç": "c", "İ": "I", "Ş": "S", "Ğ": "G", "Ü": "U", "Ö": "O", "Ç": "C"})
_PUNCT = re.compile(r"[,،:;!?؟()«»]|\.(?=\s|$)")  # dots inside s.l.a.v.e stay
_PROTECTED = re.compile(r"(?:https?://|t\.me/|wa\.me/|@|#)\S+|\+?\d[\d\s\-().,٬]*\d|\d")


def _arabic(text: str) -> str:
    return re.sub(r"ة\b", "ه", text.translate(_ARABIC))


_EN_AGE = re.compile(r"(?<![\w/])(\d{1,2}) years( old)?\b")
_EN_THOUSANDS = re.compile(r"(?<![\w/.,])(\$?)(\d{1,3}),000\b")
_AR_THOUSANDS = re.compile(r"(?<![\w/.,])(\d{1,2}),000 دولار")


def _english_numbers(text: str, rng: random.Random) -> str:
    """16 years -> 16yo / 16 y/o / 16 yrs; 4,000 -> 4k."""
    text = _EN_AGE.sub(lambda m: m.group(1) + rng.choice(("yo", " y/o", " yrs", "y")), text)
    return _EN_THOUSANDS.sub(lambda m: f"{m.group(1)}{m.group(2)}k", text)


def _arabic_numbers(text: str, rng: random.Random) -> str:
    """4,000 دولار -> 4 آلاف دولار."""
    def words(m: re.Match) -> str:
        n = int(m.group(1))
        return f"{n} {'آلاف' if 3 <= n <= 10 else 'ألف'} دولار"
    return _AR_THOUSANDS.sub(words, text)


_NUMBERS = {"en": _english_numbers, "ar": _arabic_numbers}

_BY_LANG = {
    "ar": (_arabic,),
    "ckb": (lambda t: t.translate(_SORANI),),
    "fa": (lambda t: t.translate(_PERSIAN),),
    "kmr": (lambda t: t.translate(_KURMANJI),),
    "tr": (lambda t: t.translate(_TURKISH),),
    "en": (),
}
_COMMON = (lambda t: _PUNCT.sub("", t), str.lower)


def _outside_protected(text: str, change) -> str:
    """Apply `change` to the text between links, usernames, hashtags and numbers."""
    out, last = [], 0
    for m in _PROTECTED.finditer(text):
        out.append(change(text[last:m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(change(text[last:]))
    return "".join(out)


def informal(text: str, langs: tuple[str, ...], rng: random.Random) -> str:
    """The text as typed informally: one or more of its languages' habits, sometimes no punctuation or capitals."""
    for lang in langs:
        if lang in _NUMBERS and rng.random() < 0.7:
            text = _NUMBERS[lang](text, rng)
    changes = [c for lang in langs for c in _BY_LANG[lang] if rng.random() < 0.8]
    changes += [c for c in _COMMON if rng.random() < 0.5]
    for change in changes:
        text = _outside_protected(text, change)
    return text
