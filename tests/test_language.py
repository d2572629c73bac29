"""language(): accuracy on the hand-written tables, other languages, offline model, bad input."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from detector.text import Language, language, normalise
from detector.text.language import _model, model_path

DATA = Path(__file__).parent / "data"
CODES = ("ar", "ckb", "kmr", "fa", "tr", "en")


def table(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, text = line.split("\t", 1)
            rows.append((code, text))
    return rows


def accuracy(rows: list[tuple[str, str]]) -> tuple[float, dict[str, float]]:
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for code, text in rows:
        total[code] += 1
        right[code] += language(text).code == code
    return sum(right.values()) / len(rows), {c: right[c] / total[c] for c in total}


def test_table_is_big_enough_and_balanced() -> None:
    counts = Counter(code for code, _ in table("language_table.tsv"))
    assert set(counts) == set(CODES)
    assert min(counts.values()) >= 60


def test_accuracy_on_the_hand_written_table_is_at_least_97_percent() -> None:
    overall, per_language = accuracy(table("language_table.tsv"))
    assert overall >= 0.97, per_language
    assert min(per_language.values()) >= 0.93, per_language


def test_accuracy_on_the_held_out_table_is_at_least_95_percent() -> None:
    overall, per_language = accuracy(table("language_holdout.tsv"))
    assert overall >= 0.95, per_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("کچێک بۆ فرۆشتن تەمەنی ١٧ ساڵە", "ckb"),  # Sorani letters, not Persian
        ("دختر برای فروش ۱۷ ساله", "fa"),
        ("جارية للبيع عمرها ١٧ سنة", "ar"),
        ("keçeke 17 salî ji bo firotinê", "kmr"),  # Kurmanji, not Turkish
        ("satılık kız 17 yaşında", "tr"),
        ("girl for sale, 17 years old", "en"),
        ("🔥🔥 جارية للبيع 🔥🔥 💰💰", "ar"),  # emoji-heavy
        ("ok حبيبي نلتقي بعدين في السوق", "ar"),  # mixed, Arabic dominant
        ("iPhone بۆ فرۆشتن نرخی ٥٠٠ دۆلار", "ckb"),
        ("Bonjour, je cherche un appartement à louer", "fr"),
        ("Guten Tag, ich suche eine Wohnung in Berlin", "de"),
        ("Привет, как дела? Продаю машину", "ru"),
        ("میں آپ سے ملنا چاہتا ہوں اور یہ کتاب اچھی ہے", "ur"),
    ],
)
def test_specific_messages(text: str, code: str) -> None:
    assert language(text).code == code


@pytest.mark.parametrize("text", ["", "   ", "😀🔥😀", "12345 678", "!!! ??? ...", "\ud800", "\x00\x07", "@user_name"])
def test_nothing_to_identify_gives_und(text: str) -> None:
    assert language(text) == Language("und", 0.0)


def test_confidence_is_a_probability_and_normalised_input_is_accepted() -> None:
    text = "Satılık kız 17 yaşında fiyat 5 bin TL"
    direct, via_normalised = language(text), language(normalise(text))
    assert direct == via_normalised
    assert 0.0 < direct.confidence <= 1.0


def test_bad_input_never_raises() -> None:
    for text in ["a\ud800b\udfffc words here", "\x00\x01 hello there my friend \x7f", "ا" * 1_000_000,
                 ("merhaba nasılsın " * 70_000)[:1_000_000]]:
        assert isinstance(language(text), Language)
    assert language(("merhaba nasılsın " * 70_000)[:1_000_000]).code == "tr"


def test_model_ships_in_the_wheel_and_loads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    assert model_path().is_file() and model_path().name == "lid.176.ftz"

    def no_network(*args, **kwargs):
        raise AssertionError("language identification tried to open a network connection")

    _model.cache_clear()
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert language("Bonjour, je cherche un appartement à louer").code == "fr"
