"""Entity values shared by every language: numbers, prices, phones, handles, links, names."""

from __future__ import annotations

import random

from faker.providers.person.ar_AA import Provider as _ArNames
from faker.providers.person.en_US import Provider as _EnNames
from faker.providers.person.fa_IR import Provider as _FaNames
from faker.providers.person.tr_TR import Provider as _TrNames

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"

# Rough rates from US dollars, rounded by `round_amount`.
RATES = {"USD": 1, "IQD": 1300, "SYP": 13000, "SAR": 3.75, "AED": 3.67, "KWD": 0.31, "TRY": 34, "TOMAN": 60000}

# Phone layouts per country: (prefix choices, local format, international format)
_PHONES = {
    "iq": (("770", "750", "751", "771", "780", "790", "772"), "0{p} {a3} {a4}", "+964 {p} {a3} {a4}"),
    "sy": (("944", "933", "988", "955", "991"), "0{p} {a3} {b3}", "+963 {p} {a3} {b3}"),
    "tr": (("532", "535", "542", "505", "553", "544"), "0{p} {a3} {b2} {c2}", "+90 {p} {a3} {b2} {c2}"),
    "ir": (("912", "935", "919", "901", "938"), "0{p} {a3} {a4}", "+98 {p} {a3} {a4}"),
    "sa": (("50", "55", "53", "56", "54"), "0{p} {a3} {a4}", "+966 {p} {a3} {a4}"),
    "ae": (("50", "52", "55", "56"), "0{p} {a3} {a4}", "+971 {p} {a3} {a4}"),
    "kw": (("9", "6", "5"), "{p}{a3}{a4}", "+965 {p}{a3} {a4}"),
    "us": (("212", "718", "312", "415"), "({p}) {a3}-{a4}", "+1 {p} {a3} {a4}"),
}

_HANDLE_PARTS = (
    "abu", "souq", "bazar", "market", "trade", "noor", "khair", "sham", "star", "gold", "deal",
    "falcon", "ahmad", "omar", "ali", "karwan", "baran", "rojhat", "azad", "hevi", "delal",
    "mehmet", "emre", "reza", "amir", "sina", "john", "mike", "info", "shop", "online", "city",
    "north", "east", "plus", "pro", "center", "daily", "new", "best", "real",
)

KURDISH_NAMES = (
    "Nadia", "Lamiya", "Jihan", "Nareen", "Shireen", "Viyan", "Zina", "Rojin", "Berfin", "Dilan",
    "Hêvî", "Gulistan", "Avîn", "Leyla", "Bêrîvan", "Nesrîn", "Sozdar", "Rozerîn", "Jiyan", "Delal",
)
SORANI_NAMES = ("نادیە", "ژیان", "شیرین", "ڤیان", "ڕۆژین", "دیلان", "هێڤی", "گوڵستان", "ئاڤین", "لەیلا", "نەسرین", "سۆزدار")
_APPEARANCE = ("جميل", "حسنا", "güzel")  # names that read as a remark on looks stay out of listings


def _names(names) -> tuple[str, ...]:
    return tuple(n for n in names if not any(w in n.lower() for w in _APPEARANCE))


NAMES = {
    "ar": _names(_ArNames.first_names_male),
    "fa": _names(_FaNames.first_names_male),
    "tr": _names(_TrNames.first_names_male),
    "en": _names(_EnNames.first_names_male),
    "ckb": SORANI_NAMES,
    "kmr": KURDISH_NAMES,
}
NAMES_FEMALE = {
    "ar": _names(_ArNames.first_names_female),
    "fa": _names(_FaNames.first_names_female),
    "tr": _names(_TrNames.first_names_female),
    "en": _names(_EnNames.first_names_female),
    "ckb": SORANI_NAMES,
    "kmr": KURDISH_NAMES,
}


def to_digits(text: str, style: str) -> str:
    """Rewrite ASCII digits in `style`: 'latin', 'arabic' (٠-٩) or 'persian' (۰-۹)."""
    if style == "arabic":
        return text.translate(str.maketrans("0123456789,", ARABIC_INDIC + "٬"))
    if style == "persian":
        return text.translate(str.maketrans("0123456789,", PERSIAN + "٬"))
    return text


def round_amount(value: float) -> int:
    """Round to the kind of figure people write in ads (2 significant digits)."""
    if value < 100:
        return max(1, int(round(value / 5.0) * 5) or 5)
    magnitude = 10 ** (len(str(int(value))) - 2)
    return int(round(value / magnitude) * magnitude)


def group_thousands(n: int, sep: str) -> str:
    """1234567 -> '1,234,567' with the separator `sep` ('' for none)."""
    text = f"{n:,}"
    return text.replace(",", sep)


def phone(rng: random.Random, country: str, international: bool | None = None) -> str:
    """A phone number of `country`, in its international or (by chance) local layout."""
    prefixes, local, intl = _PHONES[country]
    d = f"{rng.randrange(10**14):014d}"
    values = {"p": rng.choice(prefixes), "a3": d[0:3], "a4": d[3:7], "b3": d[7:10], "b2": d[10:12], "c2": d[12:14]}
    if international is None:
        international = rng.random() < 0.4
    fmt = intl if international else local
    return fmt.format(**values)


def e164_digits(number: str) -> str:
    """Digits of an international number without '+', for wa.me links."""
    return "".join(c for c in number if c.isdigit())


def handle(rng: random.Random) -> str:
    """A Telegram-style username (without '@')."""
    first, second = rng.sample(_HANDLE_PARTS, 2)
    style = rng.randrange(4)
    if style == 0:
        return f"{first}_{second}"
    if style == 1:
        return f"{first}{second}{rng.randrange(10, 999)}"
    if style == 2:
        return f"{first}_{rng.randrange(1, 99)}"
    return f"{first}.{second}".replace(".", "_") + str(rng.randrange(1, 9))


def contact(rng: random.Random, countries: tuple[str, ...]) -> str:
    """A contact as sellers write it: @username, t.me link, wa.me link or a phone number."""
    style = rng.randrange(5)
    if style == 0:
        return "@" + handle(rng)
    if style == 1:
        return "t.me/" + handle(rng)
    country = rng.choice(countries)
    if style == 2:
        return "wa.me/" + e164_digits(phone(rng, country, international=True))
    return phone(rng, country)
