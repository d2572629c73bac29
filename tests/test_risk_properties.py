"""Properties of the shipped model that no retraining may break.

- Monotone risk: a child's age in place of an adult's, or a price added, never lowers a score,
  in any of the six languages (the learned parts never see the values; risk weights are >= 0).
- Determinism: a message gets the same score alone, in a batch of 8 and in a file of 10,000,
  also when the transformer tier judges it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from detector.classify.features import RISK_FEATURES, SIGNAL_FEATURES
from detector.classify.registry import load_model
from detector.config import SHIPPED_MODELS_DIR
from detector.text import analyse

DEV_SET = Path(__file__).parent / "data" / "handwritten_eval.jsonl"

# One listing per language with {age} and an optional {price}, and prices as people write them.
LISTINGS = {
    "ar": ("بنت للبيع عمرها {age} سنة{price} في الرقة للتواصل 0770 123 4567", " ٣٠٠٠ دولار"),
    "ckb": ("کچێک بۆ فرۆشتن تەمەنی {age} ساڵ{price} لە هەولێر", " ٣٠٠٠ دۆلار"),
    "kmr": ("keçek ji bo firotinê {age} salî ye{price} li Şengalê", " 3000 dolar"),
    "fa": ("دختر برای فروش {age} ساله{price} در اربیل", " ۳۰۰۰ دلار"),
    "tr": ("satılık kız {age} yaşında{price} Urfa'da, DM", " 3000 dolar"),
    "en": ("captive girl for sale, {age} years old{price}, Raqqa, call 0770 123 4567", " $3,000"),
}
ADULT_AGES = (19, 24, 31)
CHILD_AGES = (8, 13, 16)
_DIGITS = re.compile(r"[0-9٠-٩۰-۹]+")


@pytest.fixture(scope="module")
def shipped():
    return load_model(SHIPPED_MODELS_DIR / "default")


def _scores(model, texts: list[str]) -> np.ndarray:
    return np.array([p.probability for p in model.predict(texts, explain=False)])


def _with_age(text: str, age: int) -> str | None:
    """`text` with the number of its first age signal replaced by `age` (None: no age found)."""
    ages = [s for s in analyse(text).signals if s.type == "age"]
    if not ages:
        return None
    span = ages[0]
    return text[: span.start] + _DIGITS.sub(str(age), text[span.start : span.end], count=1) + text[span.end :]


def test_risk_weights_are_never_negative(shipped) -> None:
    weights = dict(zip(SIGNAL_FEATURES, shipped.fast.signal_coef_.tolist()))
    assert all(weights[f] >= 0 for f in RISK_FEATURES), {f: weights[f] for f in RISK_FEATURES if weights[f] < 0}
    assert shipped.params.w_risk >= 0


@pytest.mark.parametrize("lang", sorted(LISTINGS))
def test_a_childs_age_never_scores_lower_than_an_adults(shipped, tiny_model_dir, lang) -> None:
    template, price = LISTINGS[lang]
    for model in (shipped, load_model(tiny_model_dir)):
        for with_price in ("", price):
            adult = _scores(model, [template.format(age=a, price=with_price) for a in ADULT_AGES])
            child = _scores(model, [template.format(age=c, price=with_price) for c in CHILD_AGES])
            assert child.min() >= adult.max() - 1e-9, (model.version, lang, adult, child)


@pytest.mark.parametrize("lang", sorted(LISTINGS))
def test_adding_a_price_never_lowers_a_score(shipped, lang) -> None:
    template, price = LISTINGS[lang]
    for age in (*ADULT_AGES, *CHILD_AGES):
        without, with_price = _scores(shipped, [template.format(age=age, price=""), template.format(age=age, price=price)])
        assert with_price >= without - 1e-9, (lang, age, without, with_price)


def test_on_every_hand_written_message_a_child_and_a_price_only_raise_the_score(shipped) -> None:
    """The development set's messages with an age, in all six languages: swap the age for a
    child's, and append a price in the message's own language."""
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    pairs = [(_with_age(r["text"], 27), _with_age(r["text"], 14)) for r in rows]
    pairs = [(a, c) for a, c in pairs if a is not None]
    assert len(pairs) > 50
    adult, child = _scores(shipped, [a for a, _ in pairs]), _scores(shipped, [c for _, c in pairs])
    lowered = [(a, x, y) for (a, _c), x, y in zip(pairs, adult, child) if y < x - 1e-9]
    assert not lowered, lowered[:3]
    prices = {lang: price for lang, (_t, price) in LISTINGS.items()}
    texts = [r["text"] for r in rows if r["lang"] in prices]
    priced = [f"{r['text']}{prices[r['lang']]}" for r in rows if r["lang"] in prices]
    before, after = _scores(shipped, texts), _scores(shipped, priced)
    lowered = [(t, x, y) for t, x, y in zip(texts, before, after) if y < x - 1e-9]
    assert not lowered, lowered[:3]


def test_a_message_scores_the_same_alone_in_a_batch_of_8_and_in_a_file_of_10000(shipped) -> None:
    probes = [
        "دختر ۱۴ ساله، فروش فوری، پیام خصوصی",
        "she is 16, quiet, goes to whoever pays most by friday",
        "keçeke 15 salî, bihayê wê ji 3000 dolaran dest pê dike",
        "تەمەنی ١٣ ساڵ، ئەمشەو دەفرۆشرێت",
        "Yarın satılacak, 17 yaşında, en yüksek teklif",
        "عندنا وحده عمرها ١٥ للبيع بالخاص",
        "Missing: girl, 14, last seen in Duhok market, call 0750 123 4567",
        "Kittens 2 months old, 50$ each",
    ]
    alone = np.array([shipped.predict([p])[0].probability for p in probes])
    in_eight = _scores(shipped, probes)
    filler = [f"good morning brothers, the market opens at {h} today" for h in range(10_000 - len(probes))]
    big = filler[:]
    for i, probe in enumerate(probes):
        big.insert(1_250 * i + 7, probe)
    predictions = shipped.predict(big, explain=False)
    where = [big.index(p) for p in probes]
    in_file = np.array([predictions[i].probability for i in where])
    tiers = {predictions[i].tier for i in where}
    assert "transformer" in tiers  # the property is tested where it used to fail
    np.testing.assert_allclose(in_eight, alone, atol=1e-6, rtol=0)
    np.testing.assert_allclose(in_file, alone, atol=1e-6, rtol=0)
