"""Ages: a number with an age word before or a years-old unit after, single or a range.

`17 yrs`, `عمرها ١٧ سنة`, `١٧ ساڵ`, `17 salî`, `17 yaşında`, `۱۷ ساله`, `ages 14 to 25`.
Durations (`5 years experience`, `منذ 3 سنوات`) and years (`2017`) are not ages.
An animal's age is still an age: the classifier weighs it in context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from detector.text.matching import alternation, spelling_key
from detector.text.spans import SpanSet

__all__ = ["find_ages", "ADULT"]

ADULT = 18
MAX_AGE = 80

AGE_BEFORE = ("age", "aged", "ages", "age:", "عمر", "عمرها", "عمره", "العمر", "بعمر", "السن", "سن", "سنها", "عمرى",
              "تەمەن", "تەمەنی", "سنش", "سن:", "temen", "temenê", "emr", "umr", "yaş", "yaşı", "yaşında",
              "yaşları")
AGE_AFTER = ("years", "year", "yrs", "yr", "y", "yo", "y/o", "y.o", "years old", "year old", "yrs old", "-year-old",
             "year-old", "years-old", "سنة", "سنه", "سنوات", "سنين", "عام", "عاما", "أعوام", "اعوام", "ساڵ", "ساڵان", "ساڵە",
             "ساڵی", "ساڵانە", "سال", "ساله", "سالش", "سالمه", "سالشه", "sal", "salî", "salan", "saliye", "yaş",
             "yaşında", "yaşındaki", "yaşlarında")
RANGE_JOIN = ("-", "–", "to", "till", "and", "or", "او", "أو", "یا", "yan", "an", "veya", "ila", "ile", "ta", "heta", "û", "تا", "الى", "إلى", "لـ", "و", "هەتا", "بۆ")
# Words around a number that make it a duration, not an age.
NOT_AGE_BEFORE = ("since", "for", "after", "in", "experience", "خبرة", "بخبرة", "خبره", "ئەزموون", "ئەزموونی",
                  "ezmûn", "ezmûna", "tecrübe", "tecrübeli", "سابقه", "تجربه", "با", "منذ", "من", "بعد", "خلال", "لمدة", "از", "بعد از", "ji", "piştî",
                  "son", "مدة", "مدت", "ماوەی", "ماوه")
NOT_AGE_AFTER = ("experience", "warranty", "ago", "of experience", "guarantee", "خبرة", "ضمان", "كفالة", "مضت",
                 "تجربه", "سابقه", "گارانتی", "پیش", "قبل", "tecrübe", "deneyim", "garanti", "önce", "ezmûn",
                 "berê", "ئەزموون", "لەمەوبەر", "پێش")


def _words(words) -> str:
    return alternation(spelling_key(w) for w in words)


_L = r"(?<![^\W\d_])"
_R = r"(?![^\W\d_])"
_N = r"(?<![\d.,:/])\d{1,2}(?![\d.,:/]\d|\d)"
_JOIN = rf"\s*(?:{_words(RANGE_JOIN)})\s*"
_VALUE = rf"(?P<lo>{_N})(?:{_JOIN}(?P<hi>{_N}))?"
_PATTERNS = (
    re.compile(rf"{_L}(?:{_words(AGE_BEFORE)})(?:{_R}|:)[\s:=\-]*(?:between\s*|بين\s*)?{_VALUE}"
               rf"(?:\s*(?:{_words(AGE_AFTER)}){_R})?"),
    re.compile(rf"(?:between\s*|بين\s*)?{_VALUE}\s*(?:{_words(AGE_AFTER)}){_R}"),
)
_NOT_BEFORE = re.compile(rf"{_L}(?:{_words(NOT_AGE_BEFORE)})\s*$")
_NOT_AFTER = re.compile(rf"^\s*(?:{_words(NOT_AGE_AFTER)}){_R}")


def find_ages(key: str, taken: SpanSet) -> Iterator[tuple[int, int, dict]]:
    """Spans and values `{min, max, minor}` of ages in a match key; skips and extends `taken`."""
    for pattern in _PATTERNS:
        for m in pattern.finditer(key):
            a, b = m.span()
            if taken.overlaps(a, b):
                continue
            if pattern is _PATTERNS[1] and (_NOT_BEFORE.search(key[max(0, a - 12):a]) or _NOT_AFTER.match(key[b:b + 20])):
                continue
            lo = int(m.group("lo"))
            hi = int(m.group("hi")) if m.group("hi") else lo
            lo, hi = min(lo, hi), max(lo, hi)
            if not 0 < lo <= hi <= MAX_AGE:
                continue
            taken.add(a, b)
            yield a, b, {"min": lo, "max": hi, "minor": lo < ADULT}
