"""The cascade's choices on validation, the combination of tiers, and model folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from detector.classify.cascade import (
    E5_LOGIT_LIMIT,
    CascadeParams,
    Structure,
    cascade_scores,
    choose_floor_gate,
    choose_threshold,
    fit_combiner,
)
from detector.classify.features import analyse_all, meaning_view
from detector.classify.model import structure_of
from detector.classify.registry import load_model, open_folder
from detector.errors import ModelError

Y = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 1])
P = np.array([0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9, 0.95])


def test_threshold_keeps_the_recall_asked_for_and_prefers_f1() -> None:
    y = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert choose_threshold(p, y, min_recall=0.8, f1_tolerance=0.0) == pytest.approx(0.6)  # best F1, recall 0.8
    threshold = choose_threshold(p, y, min_recall=0.95, f1_tolerance=0.0)
    assert threshold == pytest.approx(0.3)
    assert ((p >= threshold) & (y == 1)).sum() == (y == 1).sum()


def test_threshold_takes_the_lowest_of_nearly_equal_f1() -> None:
    y = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    # F1 at 0.6 is 0.889, at 0.3 it is 0.833 (recall 1.0): within 0.06 the lower one wins
    assert choose_threshold(p, y, min_recall=0.8, f1_tolerance=0.06) == pytest.approx(0.3)


def _structure(text: np.ndarray, signal: np.ndarray, minor: np.ndarray | None = None) -> Structure:
    n = len(text)
    return Structure(text, signal, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool) if minor is None else minor)


def test_combiner_trusts_the_informative_tier_and_never_weighs_risk_down() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    informative = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.1, 400), 0.01, 0.99)
    noise = rng.normal(0, 1, 400)
    anti_risk = np.where(y == 1, 0.0, 2.0) + rng.normal(0, 0.1, 400)  # a risk margin the data would weigh negatively
    w_fast, w_transformer, w_risk, _bias = fit_combiner(_structure(noise, anti_risk), informative, y)
    assert w_transformer > 5 * abs(w_fast)
    assert w_risk == pytest.approx(0.0, abs=1e-6)


def test_the_floor_gate_lets_few_minor_for_money_non_listings_through() -> None:
    p = np.linspace(0.0, 0.9, 100)  # the gate never rises above 0.95
    y = np.zeros(100, dtype=int)
    gate = choose_floor_gate(p, y, np.ones(100, dtype=bool), max_false=0.02)
    assert ((p >= gate) & (y == 0)).sum() <= 2


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


class _Meaning:
    """A stand-in second tier over texts: a fixed probability per masked text (records its inputs)."""

    def __init__(self, p: float) -> None:
        self.p, self.seen = p, []

    def predict_proba(self, texts):
        self.seen += list(texts)
        return np.column_stack([np.full(len(texts), 1 - self.p), np.full(len(texts), self.p)])


def test_meaning_judges_every_message_with_an_age_or_a_person_and_reads_the_masked_view(model) -> None:
    texts = ["girl for sale age 15 price 2000$", "iPhone 13 for sale 400$ call 0770 123 4567", "hello",
             "she is 19 years old, goes to the highest offer"]
    analyses = analyse_all(texts)
    parts = model.fast.parts(analyses)
    structure = structure_of(parts)
    meaning = _Meaning(0.9)
    params = CascadeParams(w_fast=0.1, w_transformer=2.0, w_risk=0.5, floor_gate=0.5)
    p_fast = model.fast.calibrated(parts.text + parts.signal)
    views = [meaning_view(a) for a in analyses]
    final, mask, _p = cascade_scores(p_fast, structure, meaning, params, views.__getitem__, 0.9)
    assert mask.tolist() == [True, False, False, True]  # ages and person words route; priced goods do not
    assert np.allclose(final[~mask], p_fast[~mask]) and not np.allclose(final[mask], p_fast[mask])
    assert "2000" not in meaning.seen[0] and "15" not in meaning.seen[0] and "00" in meaning.seen[0]
    assert final[0] >= 0.9  # a minor offered for money, read as a listing: at least the threshold


def test_meaning_is_asked_only_where_it_could_change_the_flag(model) -> None:
    texts = ["girl for sale age 15 price 2000$", "captive woman 24 years for sale 3000$ Raqqa", "she is 30 years old, hello"]
    analyses = analyse_all(texts)
    parts = model.fast.parts(analyses)
    structure = structure_of(parts)
    p_fast = model.fast.calibrated(parts.text + parts.signal)
    views = [meaning_view(a) for a in analyses]
    base = 0.5 * structure.text_margin + 1.0 * structure.signal_margin
    for threshold, expect in ((1e-9, "flagged"), (1 - 1e-9, "unflagged")):  # far below / above every margin
        meaning = _Meaning(0.9)
        params = CascadeParams(w_fast=0.5, w_transformer=0.1, w_risk=1.0, floor_gate=1.0)
        final, asked, _p = cascade_scores(p_fast, structure, meaning, params, views.__getitem__, threshold)
        # a minor offered for money is always read (the floor needs e5's reading); no other message is
        always = structure.minor_for_money if expect == "unflagged" else np.zeros(3, dtype=bool)
        assert asked.tolist() == always.tolist() and len(meaning.seen) == always.sum()
        reach = 0.1 * E5_LOGIT_LIMIT  # e5's best or worst case
        bound = base + (reach if expect == "flagged" else -reach)
        sure = structure.routed_by_structure & ~always
        assert sure.sum() >= 2
        np.testing.assert_allclose(final[sure], 1 / (1 + np.exp(-bound[sure])))


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


def test_model_folder_has_card_checksums_and_safe_files_only(tiny_model_dir) -> None:
    folder = open_folder(tiny_model_dir)
    card = folder.card
    assert set(card["files"]) == {p.name for p in tiny_model_dir.iterdir()} - {"card.json"}
    assert all(name.endswith((".npz", ".json", ".md")) for name in card["files"])
    assert 0 < card["threshold"] < 1 and card["training_data"]["sha256"]
    for language in ("ar", "ckb", "kmr", "fa", "tr", "en"):
        assert language in card["metrics"]["test"]["by_language"]
    assert "Flag threshold" in (tiny_model_dir / "MODEL_CARD.md").read_text()


def test_loaded_model_predicts_with_version_threshold_and_reasons(model) -> None:
    predictions = model.predict(["girl for sale, 15 years old, price 3000$, call 0770 123 4567", ""])
    assert model.version.startswith("tiny-")
    first, empty = predictions
    assert 0 <= first.probability <= 1 and first.flagged == (first.probability >= model.threshold)
    assert first.tier == "fast" and first.reasons and first.language == "en"
    assert any(s["type"] == "price" for s in first.signals)
    assert empty.signals == [] and 0 <= empty.probability <= 1


@pytest.fixture
def copy(tiny_model_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, target)
    return target


def test_altered_weights_are_refused(copy) -> None:
    weights = copy / "fast_tier.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="fast_tier.npz was altered"):
        load_model(copy)


def test_missing_file_missing_folder_and_unlisted_file_are_refused(copy, tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    (copy / "evil.pkl").write_bytes(b"cos\nsystem\n")
    with pytest.raises(ModelError, match="evil.pkl is not listed"):
        load_model(copy)
    (copy / "evil.pkl").unlink()
    (copy / "fast_tier.json").unlink()
    with pytest.raises(ModelError, match="fast_tier.json listed in the card is missing"):
        load_model(copy)


def test_a_card_naming_an_unsafe_file_is_refused(copy) -> None:
    card = json.loads((copy / "card.json").read_text())
    card["files"]["weights.pkl"] = "0" * 64
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not an allowed model file"):
        load_model(copy)


def test_the_shipped_default_model_verifies_and_separates_a_listing_from_a_pet_ad() -> None:
    from detector.config import SHIPPED_MODELS_DIR

    model = load_model(SHIPPED_MODELS_DIR / "default")
    assert model.version.startswith("default-") and 0 < model.threshold < 1
    card = model.card
    assert set(card["metrics"]["test"]["by_language"]) >= {"ar", "ckb", "kmr", "fa", "tr", "en"}
    assert "handwritten" in card["metrics"]
    listing, pet = model.fast.predict_proba(analyse_all([
        "بنت للبيع عمرها ١٥ سنة السعر ٣٠٠٠ دولار للتواصل 07701234567",
        "Kitten for sale, 3 months old, vaccinated, price 50$, call 0770 765 4321",
    ]))[:, 1]
    assert listing >= model.threshold > pet


def test_the_same_weights_with_another_band_are_another_version() -> None:
    from datetime import UTC, datetime

    from detector.classify.train import model_version

    files, when = {"fast_tier.npz": b"weights"}, datetime(2026, 11, 21, tzinfo=UTC)
    card = {"threshold": 0.2, "cascade": {"w_risk": 0.1, "floor_gate": 0.8}}
    version = model_version("default", files, card, when)
    assert version.startswith("default-20261121-")
    assert version == model_version("default", files, {**card}, when)
    assert version != model_version("default", files, {**card, "cascade": {"w_risk": 0.2, "floor_gate": 0.8}}, when)
    assert version != model_version("default", files, {**card, "threshold": 0.3}, when)
