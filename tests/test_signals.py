"""signals() and analyse(): the hand-written tables, the brief's examples, decoys, offsets, bad input."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from detector.text import Analysis, Signal, analyse, language, normalise, signals

DATA = Path(__file__).parent / "data"
TYPES = ("price", "age", "contact", "place", "term")


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line]


def label(signal: Signal) -> str:
    """The table's spelling of a signal: `price:4000 USD`, `age:14-25`, `term:sale/for sale` ..."""
    value = signal.value
    if signal.type == "price":
        return f"price:{value['amount']:.0f} {value['currency']}"
    if signal.type == "age":
        span = str(value["min"]) if value["min"] == value["max"] else f"{value['min']}-{value['max']}"
        return f"age:{span}"
    if signal.type == "term":
        return f"term:{signal.subtype}/{value}"
    return f"{signal.type}:{value}"


def precision_recall(cases: list[dict]) -> dict[str, tuple[float, float]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for case in cases:
        expected = Counter(case["signals"])
        found = Counter(label(s) for s in signals(case["text"]))
        for key in expected | found:
            kind = key.split(":", 1)[0]
            tp[kind] += min(expected[key], found[key])
            fp[kind] += max(0, found[key] - expected[key])
            fn[kind] += max(0, expected[key] - found[key])
    return {t: (tp[t] / max(1, tp[t] + fp[t]), tp[t] / max(1, tp[t] + fn[t])) for t in TYPES}


def test_table_covers_150_cases_in_six_languages_with_every_type() -> None:
    cases = load("signals_table.jsonl")
    assert len(cases) >= 150
    assert {language(c["text"]).code for c in cases} >= {"ar", "ckb", "kmr", "fa", "tr", "en"}
    assert {s.split(":", 1)[0] for c in cases for s in c["signals"]} == set(TYPES)
    assert sum(1 for c in cases if not c["signals"]) >= 5  # pure decoys and chat


@pytest.mark.parametrize("name", ["signals_table.jsonl", "signals_holdout.jsonl"])
def test_precision_and_recall_per_type_are_at_least_95_percent(name: str) -> None:
    scores = precision_recall(load(name))
    for kind, (precision, recall) in scores.items():
        assert precision >= 0.95 and recall >= 0.95, (kind, scores)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("السعر 9 آلاف", 9000, "USD"),
        ("7k USD", 7000, "USD"),
        ("12,500$", 12500, "USD"),
        ("٤٠٠٠ دولار", 4000, "USD"),
        ("۳۰۰ میلیون تومان", 3_000_000_000, "IRR"),  # toman = 10 rial
        ("5 bin TL", 5000, "TRY"),
        ("هەزار دۆلار", 1000, "USD"),
        ("Fiyat 200 milyon", 200_000_000, "TRY"),
        ("50 الف دينار", 50000, "IQD"),
        ("600 KD", 600, "KWD"),
        ("1500 دينار كويتي", 1500, "KWD"),
        ("500 ألف ليرة سورية", 500000, "SYP"),
        ("12500 ريال سعودي", 12500, "SAR"),
        ("۲۰۰۰ ریال", 2000, "IRR"),
        ("2000 درهم", 2000, "AED"),
        ("₺350", 350, "TRY"),
        ("خمسة آلاف دولار", 5000, "USD"),
        ("5OOO usd", 5000, "USD"),
        ("USD5000", 5000, "USD"),
        ("$7.5k", 7500, "USD"),
        ("مليون ونص دينار", 1_500_000, "IQD"),
        ("بـ٣٥٬٠٠٠ درهم إماراتي", 35000, "AED"),
        ("١٤٬٠٠٠ دۆلاری ئەمریکی", 14000, "USD"),
        ("7,400,000 Iraqi dinars", 7_400_000, "IQD"),
        ("3200000 IQD", 3_200_000, "IQD"),  # a price, not a Lebanese phone number
    ],
)
def test_prices(text: str, amount: float, currency: str) -> None:
    prices = [s for s in signals(text) if s.type == "price"]
    assert [s.value for s in prices] == [{"amount": float(amount), "currency": currency}]


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("17 yrs", 17, 17), ("عمرها ١٧ سنة", 17, 17), ("١٧ ساڵ", 17, 17), ("17 salî", 17, 17),
        ("17 yaşında", 17, 17), ("۱۷ ساله", 17, 17), ("ages 14 to 25", 14, 25), ("16 y/o", 16, 16),
        ("aged 19", 19, 19), ("بين 12 و 15 سنة", 12, 15), ("14 ile 18 yaş", 14, 18), ("تەمەنی ١٥", 15, 15),
        ("۱۵ تا ۱۷ ساله", 15, 17), ("a 17-year-old", 17, 17), ("١٥ عاماً", 15, 15), ("yasinda 14", 14, 14),
    ],
)
def test_ages_single_and_ranges(text: str, low: int, high: int) -> None:
    ages = [s for s in signals(text) if s.type == "age"]
    assert [s.value for s in ages] == [{"min": low, "max": high, "minor": low < 18}]


def test_adult_age_is_not_minor() -> None:
    ages = [s.value for s in signals("maid, 28 years old") if s.type == "age"]
    assert ages == [{"min": 28, "max": 28, "minor": False}]


@pytest.mark.parametrize(
    ("text", "subtype", "value"),
    [
        ("call 07701234567", "phone", "+9647701234567"),  # 07xx xxx xxxx -> Iraq
        ("٠٧٧٠ ١٢٣ ٤٥٦٧", "phone", "+9647701234567"),
        ("0944 123 456", "phone", "+963944123456"),  # 09xx xxx xxx -> Syria
        ("0912 123 4567", "phone", "+989121234567"),  # 09xx xxx xxxx -> Iran
        ("0532 123 45 67", "phone", "+905321234567"),  # 05xx xxx xx xx -> Turkey
        ("050 123 4567 Riyadh", "phone", "+966501234567"),  # 05x xxx xxxx -> Saudi Arabia
        ("050 123 4567 Dubai", "phone", "+971501234567"),  # ... or the Emirates in context
        ("6500 1234", "phone", "+96565001234"),  # Kuwait
        ("079 123 4567", "phone", "+962791234567"),  # Jordan
        ("03 123 456", "phone", "+9613123456"),  # Lebanon
        ("00964 770 123 4567", "phone", "+9647701234567"),
        ("+90 (532) 123-45-67", "phone", "+905321234567"),
        ("DM @Souq_Raqqa", "username", "@souq_raqqa"),
        ("https://t.me/souq_raqqa", "telegram_link", "https://t.me/souq_raqqa"),
        ("wa.me/9647501234567", "whatsapp_link", "https://wa.me/9647501234567"),
        ("mail Sales.Office@Example.com", "email", "sales.office@example.com"),
    ],
)
def test_contacts(text: str, subtype: str, value: str) -> None:
    contacts = [s for s in signals(text) if s.type == "contact"]
    assert [(s.subtype, s.value) for s in contacts] == [(subtype, value)]


@pytest.mark.parametrize(
    ("text", "place"),
    [("Raqqa", "Raqqa"), ("الرقة", "Raqqa"), ("بالموصل", "Mosul"), ("Şengalê", "Sinjar"), ("Shingal", "Sinjar"),
     ("تلعفر", "Tal Afar"), ("Deir ez-Zor", "Deir ez-Zor"), ("دير الزور", "Deir ez-Zor"), ("Dihokê", "Duhok"),
     ("Kocho", "Kocho"), ("Hewlêr", "Erbil"), ("هەولێر", "Erbil"), ("سلێمانی", "Sulaymaniyah"), ("Kerkük'te", "Kirkuk"),
     ("Şanlıurfa'da", "Sanliurfa"), ("Gaziantep", "Gaziantep"), ("إسطنبول", "Istanbul"), ("دبي", "Dubai"),
     ("الرياض", "Riyadh"), ("الكويت", "Kuwait"), ("Doha", "Doha"), ("Qamişlo", "Qamishli"), ("Kobanê", "Kobani")],
)
def test_places(text: str, place: str) -> None:
    assert [(s.type, s.value) for s in signals(text)] == [("place", place)]


def test_gazetteer_has_over_sixty_places() -> None:
    from detector.text.gazetteer import PLACES

    assert len(PLACES) >= 60


@pytest.mark.parametrize(
    ("text", "subtype", "value"),
    [
        ("captive", "person", "captive"), ("slave girl", "person", "slave girl"), ("سبايا", "person", "sabaya"),
        ("sabaya", "person", "sabaya"), ("جارية", "person", "jariya"), ("cariye", "person", "slave girl"),
        ("esir", "person", "captive"), ("کەنیزەک", "person", "slave girl"), ("کنیز", "person", "slave girl"),
        ("for sale", "sale", "for sale"), ("للبيع", "sale", "for sale"), ("برای فروش", "sale", "for sale"),
        ("satılık", "sale", "for sale"), ("firotin", "sale", "for sale"), ("فرۆشتن", "sale", "for sale"),
        ("wanted", "wanted", "wanted"), ("مطلوب", "wanted", "wanted"), ("auction", "auction", "auction"),
        ("مزاد", "auction", "auction"), ("mezat", "auction", "auction"), ("للتنازل", "transfer", "transfer"),
        ("maid for transfer", "person", "maid"),
        # Sorani diminutives and endings: article, plural, possessive (کۆیلەمان "our slave").
        ("کچۆڵە", "person", "girl"), ("کچۆلە", "person", "girl"), ("کۆیلەمان هەیە", "person", "slave"),
        ("کچۆلەمان", "person", "girl"), ("کچەکانمان", "person", "girl"), ("دیلەکانمان", "person", "captive"),
        ("ئافرەتی دیلدا", "person", "captive"), ("dîla ciwan", "person", "captive"), ("dîlên nû", "person", "captive"),
        ("visa transfer helper", "person", "maid"), ("Seeking a servant to purchase", "wanted", "wanted"),
        ("searching for", "wanted", "wanted"), ("أريد جارية", "wanted", "wanted"),
        ("داوای کچ دەکەین", "wanted", "wanted"), ("cariye aranmaktadır", "wanted", "wanted"),
    ],
)
def test_terms(text: str, subtype: str, value: str) -> None:
    assert (subtype, value) in [(s.subtype, s.value) for s in signals(text) if s.type == "term"]


@pytest.mark.parametrize(
    "text",
    ["iPhone 13 and Galaxy S21", "built in 2017", "120,000 km on the clock", "calibre 7.62 rifle",
     "5 years experience required", "منذ 3 سنوات", "1 2 3 4 5 6 7 8 9", "Turkish language (dil) class", "لابتوب ديل",
     "دیلان هاتەوە ماڵ"],  # the name Dilan is not دیل "captive" with a plural ending
)
def test_decoys_give_no_price_age_contact_or_person(text: str) -> None:
    found = signals(text)
    assert not [s for s in found if s.type in ("price", "age", "contact") or s.subtype == "person"], found


def test_an_animals_age_and_the_price_of_goods_are_still_signals() -> None:
    kinds = {s.type for s in signals("Puppy for sale, 2 years old, 300 dollars")}
    assert {"age", "price"} <= kinds


def test_offsets_index_the_original_text_in_every_table_case() -> None:
    for case in load("signals_table.jsonl") + load("signals_holdout.jsonl"):
        text = case["text"]
        previous = -1
        for s in signals(text):
            assert 0 <= s.start < s.end <= len(text)
            assert text[s.start:s.end] == s.text
            assert s.start >= previous
            previous = s.start


def test_obfuscated_spans_highlight_the_original_spelling() -> None:
    text = "s.l.a.v.e for s@le, ج ا ر ي ة, ٥ آلاف"
    found = {s.value if isinstance(s.value, str) else s.type: s.text for s in signals(text)}
    assert found["slave"] == "s.l.a.v.e"
    assert found["for sale"] == "for s@le"
    assert found["jariya"] == "ج ا ر ي ة"
    assert found["price"] == "٥ آلاف"


def test_signal_is_frozen_and_serialisable() -> None:
    signal = signals("Girl for sale 17 yrs 5000 USD")[0]
    with pytest.raises(FrozenInstanceError):
        signal.start = 3  # type: ignore[misc]
    as_dict = signal.to_dict()
    assert set(as_dict) == {"type", "subtype", "value", "start", "end", "text"}
    assert json.loads(json.dumps(as_dict, ensure_ascii=False)) == as_dict


def test_analyse_matches_the_three_functions() -> None:
    text = "للبيع جارية عمرها ١٧ سنة السعر ٤٠٠٠ دولار الموصل 07701234567"
    result = analyse(text)
    assert isinstance(result, Analysis)
    assert result.normalised == normalise(text)
    assert result.language == language(text)
    assert result.signals == signals(text)
    assert {s.type for s in result.signals} == set(TYPES)


@pytest.mark.parametrize("text", ["", "😀🔥😀🔥", "\ud800\udfff\ud800", "\x00\x01\x02\x7f", "   \n\t  ", "\ufeff\u200b"])
def test_bad_input_gives_an_empty_result(text: str) -> None:
    result = analyse(text)
    assert result.signals == []
    assert result.language.code == "und"


def test_a_megabyte_message_is_analysed() -> None:
    chunk = "جارية ١٧ سنة ٤٠٠٠ دولار الموصل 07701234567 s.l.a.v.e 😀 \x00 \ud800 "
    text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    result = analyse(text)
    assert result.language.code == "ar"
    assert sum(s.type == "contact" for s in result.signals) >= 15_000
    assert all(text[s.start:s.end] == s.text for s in result.signals[:100])


def test_random_unicode_never_breaks_the_offsets() -> None:
    """Seeded fuzz over Latin, Arabic, presentation forms, invisibles, emoji and surrogates."""
    rnd = random.Random(7)
    ranges = [(0, 0x250), (0x600, 0x700), (0x200B, 0x2070), (0xFB50, 0xFBFF), (0xFE70, 0xFEFF), (0x1F300, 0x1F400)]
    alphabet = [chr(c) for a, b in ranges for c in range(a, b)] + ["\ud800", "\udfff", "İ", "ı"]
    seeds = ["جارية ١٧ سنة ٤٠٠٠ دولار", "s.l.a.v.e 07701234567", "5 bin TL", "@user_1 t.me/x_y", "a@b.com"]
    for _ in range(400):
        parts = [rnd.choice(seeds) if rnd.random() < 0.3 else "".join(rnd.choices(alphabet, k=rnd.randint(0, 12)))
                 for _ in range(rnd.randint(0, 6))]
        text = " ".join(parts)
        result = analyse(text)
        assert all(0 <= s.start < s.end <= len(text) and text[s.start:s.end] == s.text for s in result.signals)
        assert len(result.normalised.starts) == len(result.normalised.text)
