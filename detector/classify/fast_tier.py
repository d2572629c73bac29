"""The fast tier: hashed character n-grams + signal indicators into a linear model.

Follows the scikit-learn estimator contract: `fit` returns self, learned attributes end
in `_`, `predict_proba` columns follow `classes_`. X is a sequence of texts or of
`detector.text.Analysis` objects (pass analyses to avoid analysing twice).
Probabilities are Platt-calibrated on a held-out set given to `fit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from ..gc_pause import cyclic_gc_paused
from ..text import Analysis
from .features import (
    SIGNAL_FEATURES,
    NgramHashes,
    analyse_all,
    concat_hashes,
    hash_ngrams,
    ngram_matrix,
    ngram_text,
    signal_matrix,
    skeleton_text,
    weight_sums,
)
from .reasons import batch_reasons

SKELETON_RANGE = (3, 5)
CHUNK = 1000  # messages hashed together


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def fit_platt(margins: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: (a, b) with P(listing) = sigmoid(a * margin + b)."""
    model = LogisticRegression(C=1e4).fit(np.asarray(margins, dtype=np.float64).reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


class FastTier(ClassifierMixin, BaseEstimator):
    """Character n-gram + signal linear classifier with calibrated probabilities."""

    def __init__(
        self,
        n_features: int = 2**19,
        ngram_range: tuple[int, int] = (2, 5),
        C: float = 4.0,
        signal_scale: float = 0.5,
        class_weight: str | None = "balanced",
        skeleton: bool = True,
    ) -> None:
        self.n_features = n_features
        self.ngram_range = ngram_range
        self.C = C
        self.signal_scale = signal_scale
        self.class_weight = class_weight
        self.skeleton = skeleton

    # ------------------------------------------------------------------ features
    def _view_texts(self, texts: Sequence[str]) -> list[tuple[Sequence[str], tuple[int, int], int]]:
        """(texts, n-gram range, salt) of each view: the `ngram_text`s and, with `skeleton`, their letters only."""
        views = [(texts, self.ngram_range, 0)]
        if self.skeleton:
            views.append(([skeleton_text(t) for t in texts], SKELETON_RANGE, 1))
        return views

    def _views(self, texts: Sequence[str]) -> list[NgramHashes]:
        """Every n-gram occurrence of each view (with positions, for reasons and training)."""
        return [hash_ngrams(view, self.n_features, ngrams, salt) for view, ngrams, salt in self._view_texts(texts)]

    def _matrix(self, analyses: Sequence[Analysis]) -> sp.csr_matrix:
        hashes = concat_hashes(self._views([ngram_text(a.normalised.text) for a in analyses]))
        grams = ngram_matrix(hashes, len(analyses), self.n_features)
        signals = sp.csr_matrix(signal_matrix(analyses) * self.signal_scale)
        return sp.hstack([grams, signals], format="csr")

    # ------------------------------------------------------------------ estimator
    def fit(self, X: Sequence[Any], y: Sequence[int], *, X_calib: Sequence[Any] | None = None,
            y_calib: Sequence[int] | None = None) -> "FastTier":
        """Fit on (X, y); calibrate on (X_calib, y_calib), or on X itself when none is given."""
        analyses = analyse_all(X)
        labels = np.asarray(y, dtype=np.int64)
        self.classes_ = np.unique(labels)
        if list(self.classes_) != [0, 1]:
            raise ValueError("FastTier needs both classes 0 and 1 in y")
        model = LogisticRegression(C=self.C, solver="liblinear", class_weight=self.class_weight)
        model.fit(self._matrix(analyses), labels)
        weights = model.coef_[0].astype(np.float32)
        self.ngram_coef_ = weights[: self.n_features]
        self.signal_coef_ = weights[self.n_features :] * np.float32(self.signal_scale)
        self.intercept_ = float(model.intercept_[0])
        if X_calib is None:
            self.calibration_ = fit_platt(self.decision_function(analyses), labels)
        else:
            self.calibration_ = fit_platt(self.decision_function(X_calib), np.asarray(y_calib))
        return self

    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """The linear margin: a sum of n-gram weights plus signal weights, with no matrix built.

        Worked through in chunks, so the hashing's arrays stay small whatever the batch.
        """
        analyses = analyse_all(X)
        with cyclic_gc_paused():
            return np.concatenate([self._margins(analyses[start : start + CHUNK]) for start in range(0, len(analyses), CHUNK)]
                                  or [np.zeros(0)])

    def _margins(self, analyses: Sequence[Analysis]) -> np.ndarray:
        texts = [ngram_text(a.normalised.text) for a in analyses]
        sums, counts = np.zeros(len(texts)), np.zeros(len(texts))
        for view, ngrams, salt in self._view_texts(texts):
            view_sums, view_counts = weight_sums(view, self.ngram_coef_, ngrams, salt)
            sums, counts = sums + view_sums, counts + view_counts
        return self._margin(sums, counts, signal_matrix(analyses))

    def _margin(self, sums: np.ndarray, counts: np.ndarray, signals: np.ndarray) -> np.ndarray:
        """The margin from each message's n-gram weight sum and count, and its signal features."""
        return sums / np.sqrt(np.maximum(counts, 1)) + signals @ self.signal_coef_ + self.intercept_

    def _calibrated(self, margins: np.ndarray) -> np.ndarray:
        a, b = self.calibration_
        return sigmoid(a * margins + b)

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        positive = self._calibrated(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    # ------------------------------------------------------------------ reasons
    def proba_and_reasons(self, analyses: Sequence[Analysis], top: int = 5) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """P(listing) per message and its reasons: the words (as written in the message) and signals
        that pushed its score most, from one hashing of each chunk of the batch.

        Positive weights push towards "listing" (see `reasons.batch_reasons`).
        """
        with cyclic_gc_paused():
            return self._proba_and_reasons(analyses, top)

    def _proba_and_reasons(self, analyses: Sequence[Analysis], top: int) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        margins, reasons = [np.zeros(0)], []
        for start in range(0, len(analyses), CHUNK):
            chunk = analyses[start : start + CHUNK]
            texts = [ngram_text(a.normalised.text) for a in chunk]
            views = self._views(texts)
            signals = signal_matrix(chunk)
            sums = sum(np.bincount(v.rows, weights=self.ngram_coef_[v.cols], minlength=len(chunk)) for v in views)
            margins.append(self._margin(sums, sum(v.counts for v in views), signals))
            reasons += batch_reasons(chunk, texts, views, self.ngram_coef_, signals * self.signal_coef_, top)
        return self._calibrated(np.concatenate(margins)), reasons

    # ------------------------------------------------------------------ storage
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Weights (for an .npz) and parameters (for JSON): everything needed to rebuild."""
        arrays = {"ngram_coef": self.ngram_coef_, "signal_coef": self.signal_coef_}
        params = {
            **self.get_params(),
            "ngram_range": list(self.ngram_range),
            "skeleton_range": list(SKELETON_RANGE),
            "intercept": self.intercept_,
            "calibration": list(self.calibration_),
            "signal_features": list(SIGNAL_FEATURES),
        }
        return arrays, params

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> "FastTier":
        if params.get("signal_features") != list(SIGNAL_FEATURES):
            raise ValueError("the model was trained with other signal features")
        tier = cls(
            n_features=int(params["n_features"]),
            ngram_range=tuple(params["ngram_range"]),
            C=float(params["C"]),
            signal_scale=float(params["signal_scale"]),
            class_weight=params["class_weight"],
            skeleton=bool(params["skeleton"]),
        )
        tier.classes_ = np.array([0, 1])
        tier.ngram_coef_ = np.asarray(arrays["ngram_coef"], dtype=np.float32)
        tier.signal_coef_ = np.asarray(arrays["signal_coef"], dtype=np.float32)
        if tier.ngram_coef_.shape != (tier.n_features,) or tier.signal_coef_.shape != (len(SIGNAL_FEATURES),):
            raise ValueError("weight arrays do not match the model's parameters")
        tier.intercept_ = float(params["intercept"])
        tier.calibration_ = (float(params["calibration"][0]), float(params["calibration"][1]))
        return tier
