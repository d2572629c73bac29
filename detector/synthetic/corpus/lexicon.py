"""The shape of a language's lexicon, and the place names every language shares.

Pools of five or more items are phrasings and are partitioned between splits
(see partition.py); shorter pools and the fields marked "entity" are shared.
Format slots: {item} {nat} {role} {name} {age} {price} {place} {contact} {n} {km} {year}.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Item = tuple[str, int, int]  # (noun, lowest price in USD, highest price in USD)
Animal = tuple[str, str, int, int, int]  # (noun, age unit "months"|"years", max age, low USD, high USD)


@dataclass(frozen=True)
class Lexicon:
    """Everything one language needs to write every kind of message."""

    lang: str
    # entity: numbers, money, phones
    digit_style: str  # "latin" | "arabic" | "persian"
    native_digit_rate: float
    thousands: tuple[str, ...]
    countries: tuple[str, ...]
    currencies: dict[str, tuple[str, ...]]  # code -> formats with {n}
    years: Callable[[int], str]
    months: Callable[[int], str]
    nationalities: tuple[str, ...]
    # listing nouns (partitioned)
    persons: tuple[str, ...]
    animals: tuple[Animal, ...]
    goods: tuple[Item, ...]
    vehicles: tuple[Item, ...]
    weapons: tuple[Item, ...]
    # listing frames (partitioned)
    sell_heads: tuple[str, ...]
    want_heads: tuple[str, ...]
    auction_heads: tuple[str, ...]
    domestic_heads: tuple[str, ...]
    job_roles: tuple[str, ...]
    job_heads: tuple[str, ...]
    recruit_heads: tuple[str, ...]
    missing_heads: tuple[str, ...]
    # extra lines (partitioned)
    person_extras: tuple[str, ...]
    animal_extras: tuple[str, ...]
    goods_extras: tuple[str, ...]
    vehicle_extras: tuple[str, ...]
    weapon_extras: tuple[str, ...]
    domestic_extras: tuple[str, ...]
    job_extras: tuple[str, ...]
    recruit_extras: tuple[str, ...]
    missing_extras: tuple[str, ...]
    # field labels (partitioned)
    age_labels: tuple[str, ...]
    price_labels: tuple[str, ...]
    fee_labels: tuple[str, ...]
    salary_labels: tuple[str, ...]
    place_labels: tuple[str, ...]
    seen_labels: tuple[str, ...]  # where a missing person was last seen
    work_labels: tuple[str, ...]  # where a job is
    contact_labels: tuple[str, ...]
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    # prose (partitioned sentence frames)
    news: tuple[str, ...]
    advocacy: tuple[str, ...]
    rescue: tuple[str, ...]
    donation: tuple[str, ...]
    chat: tuple[str, ...]
    sources: tuple[str, ...]


# canonical name -> name in ar, ckb, kmr, fa, tr, en
_PLACE_ROWS = {
    "Raqqa": ("الرقة", "ڕەققە", "Reqa", "رقه", "Rakka", "Raqqa"),
    "Mosul": ("الموصل", "مووسڵ", "Mûsil", "موصل", "Musul", "Mosul"),
    "Sinjar": ("سنجار", "شنگال", "Şengal", "سنجار", "Sincar", "Sinjar"),
    "Tal Afar": ("تلعفر", "تەلەعفەر", "Telafer", "تلعفر", "Telafer", "Tal Afar"),
    "Deir ez-Zor": ("دير الزور", "دێرەزوور", "Dêrazor", "دیرالزور", "Deyrizor", "Deir ez-Zor"),
    "Duhok": ("دهوك", "دهۆک", "Duhok", "دهوک", "Duhok", "Duhok"),
    "Kocho": ("كوجو", "کۆچۆ", "Koço", "کوچو", "Koço", "Kocho"),
    "Erbil": ("أربيل", "هەولێر", "Hewlêr", "اربیل", "Erbil", "Erbil"),
    "Gaziantep": ("غازي عنتاب", "دیلۆک", "Dîlok", "غازی‌عینتاب", "Gaziantep", "Gaziantep"),
    "Dubai": ("دبي", "دوبەی", "Dubai", "دبی", "Dubai", "Dubai"),
    "Riyadh": ("الرياض", "ڕیاز", "Riyad", "ریاض", "Riyad", "Riyadh"),
    "Kuwait": ("الكويت", "کوەیت", "Kuweyt", "کویت", "Kuveyt", "Kuwait"),
    "Baghdad": ("بغداد", "بەغدا", "Bexda", "بغداد", "Bağdat", "Baghdad"),
    "Aleppo": ("حلب", "حەلەب", "Heleb", "حلب", "Halep", "Aleppo"),
    "Urfa": ("أورفة", "ڕوها", "Riha", "اورفا", "Urfa", "Urfa"),
    "Zakho": ("زاخو", "زاخۆ", "Zaxo", "زاخو", "Zaho", "Zakho"),
    "Sulaymaniyah": ("السليمانية", "سلێمانی", "Silêmanî", "سلیمانیه", "Süleymaniye", "Sulaymaniyah"),
    "Istanbul": ("إسطنبول", "ئەستەنبوڵ", "Stenbol", "استانبول", "İstanbul", "Istanbul"),
    "Tehran": ("طهران", "تاران", "Tehran", "تهران", "Tahran", "Tehran"),
    "Doha": ("الدوحة", "دۆحە", "Doha", "دوحه", "Doha", "Doha"),
    "Jeddah": ("جدة", "جەددە", "Cidde", "جده", "Cidde", "Jeddah"),
    "Hasakah": ("الحسكة", "حەسەکە", "Hesekê", "حسکه", "Haseke", "Hasakah"),
}
_PLACE_LANGS = ("ar", "ckb", "kmr", "fa", "tr", "en")
PLACES: dict[str, tuple[str, ...]] = {
    lang: tuple(row[i] for row in _PLACE_ROWS.values()) for i, lang in enumerate(_PLACE_LANGS)
}
