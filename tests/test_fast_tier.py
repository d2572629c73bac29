"""The fast tier: hashed n-grams, signal features, calibrated linear model, reasons, storage."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from classify_support import TINY_SEED
from detector.synthetic.corpus import generate_corpus
from detector.classify.fast_tier import FastTier
from detector.classify.features import (
    RISK_FEATURES,
    SIGNAL_FEATURES,
    analyse_all,
    hash_ngrams,
    meaning_view,
    model_view,
    ngram_text,
    signal_vector,
)
from detector.text import analyse


def test_ngram_text_folds_case_and_digits_and_keeps_length() -> None:
    assert ngram_text("Price ٢٥٠٠ USD") == " price 0000 usd "
    assert len(ngram_text("İstanbul")) == len("İstanbul") + 2


def test_hashes_are_the_same_in_any_batch_and_stay_inside_each_message() -> None:
    texts = [ngram_text("for sale"), ngram_text("ab"), ngram_text("for sale")]
    hashes = hash_ngrams(texts, 2**16, (2, 5))
    first = hashes.cols[hashes.rows == 0]
    assert np.array_equal(np.sort(first), np.sort(hashes.cols[hashes.rows == 2]))
    alone = hash_ngrams([texts[0]], 2**16, (2, 5))
    assert np.array_equal(np.sort(alone.cols), np.sort(first))
    # " ab " has 3 bigrams, 2 trigrams, 1 four-gram: nothing runs into the next message
    assert hashes.counts[1] == 6
    for row, start, length in zip(hashes.rows, hashes.starts, hashes.lengths):
        assert start + length <= len(texts[row])


def test_signal_vector_reads_minor_age_price_and_person_terms() -> None:
    vector = dict(zip(SIGNAL_FEATURES, signal_vector(analyse("girl for sale, age 14, price 3000$ call +9647701234567"))))
    assert vector["price"] == 1 and vector["minor age"] == 1 and vector["minor + price"] == 1
    assert vector["phone"] == 1
    calm = dict(zip(SIGNAL_FEATURES, signal_vector(analyse("good morning everyone"))))
    assert calm["price"] == 0 and calm["age"] == 0 and calm["minor + price"] == 0


def reasons_of(tier: FastTier, text: str, top: int = 5) -> list[dict]:
    """The reasons the fast tier gives for one text."""
    return tier.proba_and_reasons(analyse_all([text]), top)[1][0]


@pytest.fixture(scope="module")
def corpus():
    examples = generate_corpus(1500, TINY_SEED)
    return {s: [e for e in examples if e.split == s] for s in ("train", "val", "test")}


@pytest.fixture(scope="module")
def fitted(corpus) -> FastTier:
    train, val = corpus["train"], corpus["val"]
    return FastTier(n_features=2**16).fit(
        [e.text for e in train], [e.label for e in train],
        X_calib=[e.text for e in val], y_calib=[e.label for e in val],
    )


def test_fit_follows_the_estimator_contract(fitted: FastTier, corpus) -> None:
    assert list(fitted.classes_) == [0, 1]
    assert fitted.ngram_coef_.shape == (2**16,)
    fresh = clone(fitted)
    assert not hasattr(fresh, "ngram_coef_") and fresh.get_params() == fitted.get_params()
    proba = fitted.predict_proba([e.text for e in corpus["test"][:50]])
    assert proba.shape == (50, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_a_small_sample_already_separates_held_out_listings(fitted: FastTier, corpus) -> None:
    test = corpus["test"]
    predicted = fitted.predict([e.text for e in test])
    accuracy = float(np.mean(predicted == np.array([e.label for e in test])))
    assert accuracy > 0.8


def test_reasons_are_words_of_the_message_and_signals(fitted: FastTier) -> None:
    text = "Girl for SALE — age 15, price 2000$ ☎ 0770 123 4567"
    reasons = reasons_of(fitted, text)
    assert reasons and all(r["kind"] in ("ngram", "signal") for r in reasons)
    for reason in reasons:
        if reason["kind"] == "ngram":
            assert reason["feature"] in text
        else:
            assert reason["feature"] in SIGNAL_FEATURES
    weights = [abs(r["weight"]) for r in reasons]
    assert weights == sorted(weights, reverse=True)


def test_reasons_name_each_word_once_never_a_file_name_and_never_a_negative_risk_weight(fitted: FastTier) -> None:
    text = ("IMG-20250307-WA0001.jpg girl girl GIRL for sale, 15 years, 2000$ <attached: 00000012-PHOTO.jpg> "
            "girl 0770 123 4567 VID-20250101-WA0002.mp4")
    reasons = reasons_of(fitted, text, top=10)
    words = [r["feature"].lower() for r in reasons if r["kind"] == "ngram"]
    assert words and len(words) == len(set(words))
    assert not any(".jpg" in w or ".mp4" in w or "img-" in w or "wa000" in w or "attached" in w for w in words), words
    risk = [r for r in reasons if r["kind"] == "signal" and r["feature"] in RISK_FEATURES]
    assert risk and all(r["weight"] > 0 for r in risk)
    with_files = fitted.predict_proba([text])[0, 1]
    without = fitted.predict_proba([text.replace("IMG-20250307-WA0001.jpg ", "").replace(" VID-20250101-WA0002.mp4", "")
                                    .replace(" <attached: 00000012-PHOTO.jpg>", "")])[0, 1]
    assert with_files == pytest.approx(without, abs=1e-9)  # attachment names are not features


def test_the_model_view_cuts_prices_and_contacts_and_reads_every_age_alike() -> None:
    a13, a31 = (analyse(f"girl {age} years old for 3000$ call 0770 123 4567 Raqqa") for age in (13, 31))
    assert model_view(a13).text == model_view(a31).text == "girl 00 years old for call raqqa"
    assert meaning_view(a13) == meaning_view(a31) == "girl 00 years old for call Raqqa"
    view = model_view(a13)
    start = view.text.index("raqqa")
    assert a13.normalised.original_text(*view.source_span(start, start + 5)) == "Raqqa"


def test_empty_and_huge_texts_are_scored(fitted: FastTier) -> None:
    proba = fitted.predict_proba(["", "x" * 1_000_000])[:, 1]
    assert np.isfinite(proba).all()
    assert reasons_of(fitted, "") is not None


def test_arrays_round_trip_gives_identical_scores(fitted: FastTier, corpus) -> None:
    arrays, params = fitted.to_arrays()
    rebuilt = FastTier.from_arrays(arrays, params)
    texts = [e.text for e in corpus["test"][:100]]
    assert np.allclose(rebuilt.predict_proba(texts), fitted.predict_proba(texts))
    with pytest.raises(ValueError):
        FastTier.from_arrays({**arrays, "ngram_coef": arrays["ngram_coef"][:10]}, params)


def test_reasons_of_a_batch_are_each_message_s_own(fitted: FastTier, corpus) -> None:
    texts = [e.text for e in corpus["test"][:40]] + ["", "🙂🙂 girl 14 yrs 💵 3000$ 📞", "𝐬𝐚𝐥𝐞 ب_ر_ده للبيع", "x" * 30_000]
    analyses = analyse_all(texts)
    together = fitted.proba_and_reasons(analyses)[1]
    assert together == [fitted.proba_and_reasons([a])[1][0] for a in analyses]
    assert any(r["kind"] == "ngram" for reasons in together for r in reasons)


def test_a_word_held_apart_is_given_as_written(fitted: FastTier) -> None:
    text = "s_l a..v e for sale 15 years 2000$"
    words = [r["feature"] for r in reasons_of(fitted, text, top=10) if r["kind"] == "ngram"]
    assert words and all(w in text for w in words)


def test_character_classes_match_the_regex_for_every_kind_of_character() -> None:
    import re

    from detector.classify.reasons import char_mask

    sample = "a Z ş ی ٣ 3 _ . \u200c \n 🙂 𝐬 ء"
    codes = np.array([ord(c) for c in sample], dtype=np.uint32)
    for pattern in (re.compile(r"[^\W\d_]"), re.compile(r"\s")):
        assert char_mask(codes, pattern).tolist() == [pattern.match(c) is not None for c in sample]
