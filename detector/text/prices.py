"""Prices: an amount and a currency, in digits or words, in the six languages.

Found on the match key (see matching.py). Amounts like `12,500$`, `7k USD`, `٤٠٠٠ دولار`,
`۳۰۰ میلیون تومان`, `5 bin TL`, `هەزار دۆلار`, and price-word or multiplier forms with no
currency (`السعر 5000`, `9 آلاف`, `200 milyon`), whose currency is guessed from the
script: Persian -> IRR (a bare Persian price is in toman), Turkish -> TRY, otherwise USD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TypeVar

from detector.text.matching import alternation, spelling_key
from detector.text.spans import SpanSet

__all__ = ["find_prices"]

TOMAN_IN_RIAL = 10

CURRENCIES: dict[str, tuple[str, ...]] = {
    "USD": ("$", "us$", "usd", "dollar", "dollars", "dolar", "dolars", "dolarê", "dollar amrici", "دولار", "دولارات",
            "دولارا", "دۆلار", "دلار", "bucks", "buck", "دولار امريكي", "دولار أمريكي", "دلار آمریکا", "amerikan doları", "doları"),
    "IQD": ("iqd", "dinar", "dinars", "dînar", "iraqi dinar", "دينار", "دنانير", "دينار عراقي", "د.ع", "دینار"),
    "KWD": ("kwd", "kd", "kuwaiti dinar", "دينار كويتي", "د.ك"),
    "SYP": ("syp", "syrian pound", "syrian pounds", "ل.س", "ليرة", "ليرات", "ليرة سورية", "ليرة سوري", "ل س"),
    "TRY": ("tl", "₺", "lira", "lire", "lîre", "turkish lira", "türk lirası", "lirası", "ليرة تركية", "ليرة تركي", "لیر"),
    "SAR": ("sar", "sr", "riyal", "riyals", "saudi riyal", "ريال", "ريالات", "ريال سعودي", "ر.س"),
    "AED": ("aed", "dhs", "dirham", "dirhams", "dirhem", "درهم", "دراهم", "درهم اماراتي", "دەرهەم"),
    "IRR": ("irr", "rial", "ریال ایران"),  # bare ریال: see _currency
    "TOMAN": ("toman", "tomans", "تومان", "تومن", "تمن"),
}
MULTIPLIERS: dict[float, tuple[str, ...]] = {
    100.0: ("hundred", "مية", "مئة", "مائة", "ميه", "صد", "سەد", "yüz", "sed"),
    1e3: ("k", "thousand", "grand", "ألف", "الف", "آلاف", "الاف", "ألاف", "هزار", "هەزار", "bin", "hezar"),
    1.5e3: ("ألف ونص", "الف ونص", "ألف ونصف"),
    2e3: ("ألفين", "الفين", "ألفان"),
    1e6: ("m", "mn", "million", "millions", "مليون", "ملايين", "میلیون", "ملیون", "ملیۆن", "milyon", "mîlyon"),
    1.5e6: ("مليون ونص", "مليون ونصف"),
    2e6: ("مليونين",),
    1e9: ("billion", "مليار", "milyar", "میلیارد"),
}
NUMBER_WORDS: dict[float, tuple[str, ...]] = {
    1.0: ("one", "a", "bir", "yek", "یک", "یەک", "واحد"),
    2.0: ("two", "iki", "du", "دو", "دوو", "اثنين", "اثنان", "ثنين"),
    3.0: ("three", "üç", "sê", "سه", "سێ", "ثلاث", "ثلاثة", "تلات"),
    4.0: ("four", "dört", "çar", "چهار", "چوار", "اربع", "أربعة", "اربعة"),
    5.0: ("five", "beş", "pênc", "پنج", "پێنج", "خمس", "خمسة"),
    6.0: ("six", "altı", "şeş", "شش", "شەش", "ست", "ستة"),
    7.0: ("seven", "yedi", "heft", "هفت", "حەوت", "سبع", "سبعة"),
    8.0: ("eight", "sekiz", "heşt", "هشت", "هەشت", "ثمان", "ثمانية"),
    9.0: ("nine", "dokuz", "neh", "نه", "نۆ", "تسع", "تسعة"),
    10.0: ("ten", "on", "deh", "ده", "دە", "عشر", "عشرة"),
    20.0: ("twenty", "yirmi", "bîst", "بیست", "عشرين"),
    50.0: ("fifty", "elli", "pêncî", "پنجاه", "پەنجا", "خمسين"),
}
PRICE_WORDS = ("price", "cost", "for only", "السعر", "سعر", "سعرها", "سعره", "بسعر", "الثمن", "ثمن", "ثمنها",
               "قیمت", "قیمتش", "به قیمت", "نرخ", "نرخی", "fiyat", "fiyatı", "fiyatı:", "ücret", "ücreti",
               "buha", "biha", "bihayê", "buhayê", "nirx", "nirxê", "بەها")
# Units after a multiplied number that make it not a price (mileage, weight, followers).
_NOT_PRICE_UNIT = r"(?!\s*(?:km|kilo|kg|mile|miles|كم|كيلو|كلم|كغ|ميل|متر|follower|views|takipçi|متابع|مشاهدة))"


_V = TypeVar("_V")


def _lookup(table: Mapping[_V, tuple[str, ...]]) -> dict[str, _V]:
    return {spelling_key(s): value for value, spellings in table.items() for s in spellings}


_CUR = _lookup(CURRENCIES)
_MULT = _lookup(MULTIPLIERS)
_WORDNUM = _lookup(NUMBER_WORDS)
_L = r"(?<![^\W\d_])"
_R = r"(?![^\W\d_])"
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:\.\d{3})+(?![\d])|\d+(?:\.\d+)?)(?![\d])"
_DIGITS = rf"(?<![0-9a-z_.,]){_NUMBER}"
_WORDS = rf"{_L}(?:{alternation(_WORDNUM)}){_R}"
_AMOUNT = rf"(?P<num>{_DIGITS}|{_WORDS})"
_MULTS = rf"(?P<mult>(?:{alternation(_MULT)}){_R}(?:\s*(?:{alternation(_MULT)}){_R})?)"
# Currency words may carry a case, izafe or plural ending: دۆلاری ئەمریکی, dolarê, dinars.
# A number may lean on an Arabic preposition (بـ٣٥٬٠٠٠), never on a Latin letter (S21).
_CURS = rf"(?P<cur>(?:{alternation(_CUR)}))(?:ي|ى|ه|e|i|a|s)?{_R}"
_BIG_MULTS = alternation(k for k, v in _MULT.items() if v >= 1e3 and k not in {"m", "mn"})
_PRICE_WORD = rf"{_L}(?:{alternation(spelling_key(w) for w in PRICE_WORDS)}){_R}"

_CURRENCY = re.compile(_CURS)
_ANY_PRICE_WORD = re.compile(_PRICE_WORD)
_ANY_BIG_MULT = re.compile(rf"(?:{_BIG_MULTS}){_R}")
# Each pattern with a word it cannot match without: a message lacking that word skips it.
_PATTERNS = (
    (re.compile(rf"{_AMOUNT}\s*(?:{_MULTS}\s*)?{_CURS}"), _CURRENCY),
    (re.compile(rf"(?<![^\W\d_]){_CURS}\s*(?P<num>(?<![0-9.,]){_NUMBER}|{_WORDS})(?:\s*{_MULTS})?{_NOT_PRICE_UNIT}"), _CURRENCY),
    (re.compile(rf"{_L}{_MULTS}\s*{_CURS}"), _CURRENCY),
    (re.compile(rf"{_PRICE_WORD}[\s:=\-]*{_AMOUNT}(?:\s*{_MULTS})?{_NOT_PRICE_UNIT}"), _ANY_PRICE_WORD),
    (re.compile(rf"{_AMOUNT}\s*(?P<mult>(?:{_BIG_MULTS}){_R}){_NOT_PRICE_UNIT}"), _ANY_BIG_MULT),
)
_PERSIAN = re.compile(r"[یکپژگچ]")
_SORANI = re.compile(r"[ێۆڕڵە]")
_TURKISH = re.compile(r"[ığ]|\b(?:bin|milyon|fiyat|fiyatı)\b")
_SPACES = re.compile(r"\s+")


def _number(text: str) -> float | None:
    if text in _WORDNUM:
        return float(_WORDNUM[text])
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        return float(text.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return float(text.replace(".", ""))
    try:
        return float(text)
    except ValueError:
        return None


def _factor(mult: str | None) -> float:
    if not mult:
        return 1.0
    whole = _SPACES.sub(" ", mult.strip())
    if whole in _MULT:  # one multiplier of several words: مليون ونص
        return float(_MULT[whole])
    factor = 1.0
    for word in whole.split(" "):
        factor *= float(_MULT.get(word, 1.0))
    return factor


def _default_currency(derived: str) -> str:
    if _PERSIAN.search(derived) and not _SORANI.search(derived):
        return "TOMAN"
    if _TURKISH.search(derived):
        return "TRY"
    return "USD"


def _currency(m: re.Match, derived: str) -> str:
    word = m.groupdict().get("cur")
    if word is None:
        return _default_currency(derived)
    code = str(_CUR.get(_SPACES.sub(" ", word.strip()), "USD"))
    if code == "SAR" and "ی" in derived[m.start("cur"):m.end("cur")]:
        return "IRR"  # Persian ریال, not the Saudi riyal
    return code


def find_prices(derived: str, key: str, taken: SpanSet) -> Iterator[tuple[int, int, dict]]:
    """Spans (on the derived text) and values of prices; `taken` spans are skipped and extended."""
    present: dict[re.Pattern[str], bool] = {}
    for pattern, needed in _PATTERNS:
        if needed not in present:
            present[needed] = needed.search(key) is not None
        if not present[needed]:
            continue
        for m in pattern.finditer(key):
            a, b = m.span()
            if taken.overlaps(a, b):
                continue
            num = m.groupdict().get("num")
            amount = _number(num) if num else 1.0
            if amount is None:
                continue
            amount *= _factor(m.groupdict().get("mult"))
            currency = _currency(m, derived)
            if currency == "TOMAN":
                currency, amount = "IRR", amount * TOMAN_IN_RIAL
            if amount <= 0:
                continue
            taken.add(a, b)
            yield a, b, {"amount": float(amount), "currency": currency}
