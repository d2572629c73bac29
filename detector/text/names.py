"""Personal names introduced by a cue ("her name is …", "اسمها …", "navê wê …", "ناوی …", "اسمش …", "adı …").

Pure: `find_names(text)` returns the name spans on the ORIGINAL text, so alerts and reports can mask
a victim's name. A name is the one or two words after the cue (an optional ":" or "is" between);
it stops at punctuation, a digit, a line break or a common word that cannot be a name (an age
word, a copula, a preposition). The rule errs towards masking: a wrong hit hides a word, a
miss would send a child's name out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NameSpan", "find_names", "NAME_CUES"]

NAME_CUES = (
    # English
    r"her\s+name\s+is", r"his\s+name\s+is", r"(?:the\s+)?(?:girl|boy|child|kid)'?s\s+name\s+is", r"named",
    # Arabic
    r"[اإأ]سمها", r"[اإأ]سمه", r"[اإأ]سم\s+(?:البنت|الطفلة|الطفل|الولد|الفتاة)", r"الاسم",
    # Kurmanji
    r"nav[êe]\s+(?:w[êe]|w[îi]|ke[çc]ik[êe]|ke[çc][êe]|zarok[êe])",
    # Sorani
    r"ناوی",
    # Persian
    r"اسمش", r"نامش", r"اسم\s+(?:او|دختر|پسر|بچه)",
    # Turkish
    r"ad[ıi]", r"ismi",
)
# Words after a cue that are not part of a name: copulas, age words, prepositions and conjunctions.
STOP_WORDS = frozenset("""
is was and aged age years year old from in at with who the a an for yrs y/o
و من في عمرها عمره العمر عمر سنة سنوات سنين بعمر هي هو الى إلى على مع
ye e û ji li temen temenê sal salî salî ye
یە تەمەنی تەمەن ساڵ ساڵە لە و بە
است هست و از در سن ساله سال با
ve yaşında yaş yaşı ile ve da de
""".split())
_SEPARATOR = r"[\s:\-–—=]*(?:is\s+|ye\s+)?"
_WORD = re.compile(r"[^\W\d_][\w'’\u200c\u0640\u064b-\u065f]*\.?")
_CUE = re.compile(r"(?<!\w)(?:" + "|".join(NAME_CUES) + r")(?!\w)" + _SEPARATOR, re.IGNORECASE)
_GAP = re.compile(r"[ \t\u00a0]+")
MAX_WORDS = 2


@dataclass(frozen=True, slots=True)
class NameSpan:
    """A name found after a cue: offsets into the original text and its characters."""

    start: int
    end: int
    text: str


def _name_after(text: str, pos: int) -> tuple[int, int] | None:
    """The span of up to MAX_WORDS name words starting at `pos`, or None when none follows."""
    start = end = None
    for _ in range(MAX_WORDS):
        if end is not None:
            gap = _GAP.match(text, end)
            if gap is None:
                break
            pos = gap.end()
        word = _WORD.match(text, pos)
        if word is None or word[0].rstrip(".").lower() in STOP_WORDS:
            break
        if start is None:
            start = word.start()
        end = word.end()
        if word[0].endswith(".") and len(word[0]) > 2:  # a full stop ending the sentence, not an initial
            end -= 1
            break
    return (start, end) if start is not None and end is not None else None


def find_names(text: str) -> list[NameSpan]:
    """Every name introduced by a cue in `text`, in order (offsets on `text` itself)."""
    found: list[NameSpan] = []
    for cue in _CUE.finditer(text):
        span = _name_after(text, cue.end())
        if span is not None and (not found or span[0] >= found[-1].end):
            found.append(NameSpan(span[0], span[1], text[span[0]:span[1]]))
    return found
