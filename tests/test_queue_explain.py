"""A score's reasons in an analyst's words (detector.classify.explain) and on the item page (HTTP, SQLite
and PostgreSQL): what was found, what the model weighed; no raw weights, file names or duplicates."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.classify.explain import FEATURE_WORDS, Line, explain
from detector.classify.features import SIGNAL_FEATURES
from detector.config import Settings
from detector.db import session_scope
from detector.schema import Score
from labeling.app import create_app
from labeling_support import Item, age_signal, login, make_users, store_items

TEXT = "girl 14 years for sale 3000$ call +964 770 555 0199 in Mosul IMG-20250307-WA0001.jpg"
PHONE = "+964 770 555 0199"
SIGNALS = [
    age_signal(TEXT, 14),
    {"type": "price", "subtype": None, "value": {"amount": 3000.0, "currency": "USD"}, "start": TEXT.index("3000$"),
     "end": TEXT.index("3000$") + 5, "text": "3000$"},
    {"type": "contact", "subtype": "phone", "value": "+9647705550199", "start": TEXT.index(PHONE),
     "end": TEXT.index(PHONE) + len(PHONE), "text": PHONE},
    {"type": "place", "subtype": None, "value": "Mosul", "start": TEXT.index("Mosul"),
     "end": TEXT.index("Mosul") + 5, "text": "Mosul"},
    {"type": "term", "subtype": "sale", "value": "for sale", "start": TEXT.index("for sale"),
     "end": TEXT.index("for sale") + 8, "text": "for sale"},
]
# As an older model stored them: a negative risk weight, a file name, one word three times.
REASONS = [
    {"kind": "transformer", "feature": "meaning (multilingual-e5)", "weight": 0.9312},
    {"kind": "signal", "feature": "minor + price", "weight": -2.86},
    {"kind": "ngram", "feature": "girl", "weight": 1.91},
    {"kind": "ngram", "feature": "IMG-20250307-WA0001.jpg", "weight": 0.84},
    {"kind": "ngram", "feature": "Girl,", "weight": 0.62},
    {"kind": "ngram", "feature": "GIRL", "weight": -0.3},
    {"kind": "signal", "feature": "person + sale", "weight": 1.2},
    {"kind": "ngram", "feature": "call", "weight": -0.41},
    {"kind": "ngram", "feature": "0199", "weight": 0.2},
]


def test_found_says_each_signal_in_words_once():
    found = explain([], SIGNALS + [SIGNALS[0]]).found
    assert found == [
        Line("age", "14", "a minor", True, "age"),
        Line("price", "3,000 USD", ltr=True, kind="price"),
        Line("phone", "+9647705550199", ltr=True, kind="contact"),
        Line("place", "Mosul", kind="place"),
        Line("sale word", "for sale", kind="term"),
    ]


def test_weighed_has_the_reading_and_words_without_file_names_numbers_or_repeats():
    shown = explain(REASONS, SIGNALS)
    assert shown.readings == [Line("meaning:", note="reads like a listing (0.93)")]
    assert [(line.label, line.value) for line in shown.raised] == [
        ("", "girl"), ("a person together with a sale word", "")]
    assert [(line.label, line.value) for line in shown.lowered] == [
        ("a child's age together with a price", ""), ("", "call")]


def test_arabic_letter_variants_are_one_word_and_a_low_reading_says_so():
    shown = explain([{"kind": "ngram", "feature": "للبيع", "weight": 1.0},
                     {"kind": "ngram", "feature": "للبیع", "weight": 0.5},  # Persian yeh
                     {"kind": "context", "feature": "read with its thread", "weight": 0.12}], [])
    assert [line.value for line in shown.raised] == ["للبيع"]
    assert shown.readings[0].note.endswith("does not read like a listing (0.12)")


def test_every_signal_feature_of_the_model_has_words():
    assert set(SIGNAL_FEATURES) <= set(FEATURE_WORDS)
    assert all("+" not in words for words in FEATURE_WORDS.values())


@pytest.fixture
def app(db_url, tmp_path):
    application = create_app(Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", secret_key="x" * 40))
    make_users(application.state.engine, ("ann", "analyst"))
    yield application
    application.state.engine.dispose()


def _panel(page: str) -> str:
    found = re.search(r'<section class="explain" id="explain">(.*?)</section>', page, re.S)
    assert found, "the item page has no explanation"
    return found.group(1)


def test_item_page_groups_the_reasons_in_words(app):
    hostile = '<img src=x onerror="alert(1)">'
    (mid,) = store_items(app.state.engine, [Item(TEXT, 0.97, signals=SIGNALS)])
    with session_scope(app.state.engine) as s:
        score = s.scalars(select(Score).where(Score.message_id == mid)).one()
        score.reasons = REASONS + [{"kind": "ngram", "feature": hostile, "weight": 0.1}]
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    page = client.get(f"/items/{mid}").text
    panel = _panel(page)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", panel)))
    assert "What was found" in text and "What the model weighed" in text
    assert 'age <bdi dir="ltr" class="value">14</bdi> (a minor)' in panel
    assert "price 3,000 USD" in text and "phone +9647705550199" in text and "place Mosul" in text
    assert "meaning: reads like a listing (0.93)" in text
    assert "Raised the score: girl · a person together with a sale word" in text
    assert "Lowered the score: a child's age together with a price · call" in text
    assert "2.86" not in page and "0.84" not in page and "WA0001" not in panel and "minor + price" not in page
    assert text.lower().count("girl") == 1
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in panel and hostile not in page


def test_item_page_without_reasons_says_so(app):
    (mid,) = store_items(app.state.engine, [Item("a plain message", 0.7)])
    with session_scope(app.state.engine) as s:
        s.scalars(select(Score).where(Score.message_id == mid)).one().reasons = []
    client = TestClient(app)
    assert login(client, "ann").status_code == 303
    text = re.sub(r"<[^>]+>", "", _panel(client.get(f"/items/{mid}").text))
    assert "No age, price, contact, place or trade word." in text and "The score came without reasons." in text
