"""Informal spelling: what people type on a phone keyboard without the right layout.

Arabic drops hamzas and writes ة as ه; Sorani typed on an Arabic keyboard loses
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
    changes = [c for lang in langs for c in _BY_LANG[lang] if rng.random() < 0.8]
    changes += [c for c in _COMMON if rng.random() < 0.5]
    for change in changes:
        text = _outside_protected(text, change)
    return text
