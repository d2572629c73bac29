"""The fast tier: hashed character n-grams + signal indicators into a linear model.

Follows the scikit-learn estimator contract: `fit` returns self, learned attributes end
in `_`, `predict_proba` columns follow `classes_`. X is a sequence of texts or of
`detector.text.Analysis` objects (pass analyses to avoid analysing twice).
Probabilities are Platt-calibrated on a held-out set given to `fit`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from ..text import Analysis
from .features import (
    SIGNAL_FEATURES,
    NgramHashes,
    analyse_all,
    concat_hashes,
    hash_ngrams,
    ngram_matrix,
    ngram_text,
    occurrence_weights,
    signal_matrix,
    skeleton_text,
)


_WORD = re.compile(r"\S+")
_LETTER = re.compile(r"[^\W\d_]")
SKELETON_RANGE = (3, 5)


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
    def _views(self, texts: Sequence[str]) -> list[NgramHashes]:
        """N-grams of each text (from `ngram_text`) and, with `skeleton`, of its letters only."""
        views = [hash_ngrams(texts, self.n_features, self.ngram_range)]
        if self.skeleton:
            views.append(hash_ngrams([skeleton_text(t) for t in texts], self.n_features, SKELETON_RANGE, salt=1))
        return views

    def _hashes(self, analyses: Sequence[Analysis]) -> NgramHashes:
        return concat_hashes(self._views([ngram_text(a.normalised.text) for a in analyses]))

    def _matrix(self, analyses: Sequence[Analysis]) -> sp.csr_matrix:
        grams = ngram_matrix(self._hashes(analyses), len(analyses), self.n_features)
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
        """The linear margin: a sum of n-gram weights plus signal weights, with no matrix built."""
        analyses = analyse_all(X)
        hashes = self._hashes(analyses)
        contrib = self.ngram_coef_[hashes.cols] * occurrence_weights(hashes)
        margins = np.bincount(hashes.rows, weights=contrib, minlength=len(analyses))
        return margins + signal_matrix(analyses) @ self.signal_coef_ + self.intercept_

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        a, b = self.calibration_
        positive = sigmoid(a * self.decision_function(X) + b)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    # ------------------------------------------------------------------ reasons
    def explain(self, analysis: Analysis, top: int = 5) -> list[dict[str, Any]]:
        """The words and signals that pushed one message's score most (see `explain_all`)."""
        return self.explain_all([analysis], top)[0]

    def explain_all(self, analyses: Sequence[Analysis], top: int = 5) -> list[list[dict[str, Any]]]:
        """Per message: the words (as written in the message) and signals that pushed the score most.

        Each n-gram's weight goes to the word holding its middle character, so a reason is
        a whole word of the original text; positive weights push towards "listing".
        The n-grams and signals of the whole batch are computed at once.
        """
        texts = [ngram_text(a.normalised.text) for a in analyses]
        views = self._views(texts)
        # each view's occurrences grouped by message, in their original order
        per_view = []
        for view in views:
            order = np.argsort(view.rows, kind="stable")
            bounds = np.concatenate(([0], np.cumsum(view.counts)))
            per_view.append((view, order, bounds))
        scales = 1.0 / np.sqrt(np.maximum(sum(v.counts for v in views), 1))
        signal_values = signal_matrix(analyses) * self.signal_coef_
        return [
            self._reasons(analysis, text, per_view, row, scales[row], signal_values[row], top)
            for row, (analysis, text) in enumerate(zip(analyses, texts))
        ]

    def _reasons(self, analysis: Analysis, text: str, per_view: list[tuple[NgramHashes, np.ndarray, np.ndarray]],
                 row: int, scale: np.float64, values: np.ndarray, top: int) -> list[dict[str, Any]]:
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        word_of = np.full(len(text) + 1, -1)
        for index, (start, end) in enumerate(words):
            word_of[start:end] = index
        # where each view's characters sit in `text` (the skeleton keeps only the letters)
        letters = np.array([-1] + [m.start() for m in _LETTER.finditer(text)] + [-1])
        totals = np.zeros(len(words))
        for (view, order, bounds), positions in zip(per_view, (None, letters)):
            mine = order[bounds[row] : bounds[row + 1]]
            middles = view.starts[mine] + view.lengths[mine] // 2
            where = middles if positions is None else positions[middles]
            owner = np.where(where >= 0, word_of[where], -1)
            keep = owner >= 0
            totals += np.bincount(owner[keep], weights=self.ngram_coef_[view.cols[mine][keep]] * scale, minlength=len(words))
        reasons: list[dict[str, Any]] = []
        for index in np.argsort(-np.abs(totals))[:top]:
            feature = _original_span(analysis, words[index][0] - 1, words[index][1] - 1)
            if feature and totals[index] != 0:
                reasons.append({"kind": "ngram", "feature": feature, "weight": round(float(totals[index]), 4)})
        for index in np.argsort(-np.abs(values))[:top]:
            if values[index] != 0:
                reasons.append({"kind": "signal", "feature": SIGNAL_FEATURES[index], "weight": round(float(values[index]), 4)})
        return sorted(reasons, key=lambda r: -abs(r["weight"]))[: top + 3]

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


def _original_span(analysis: Analysis, start: int, end: int) -> str:
    """The stretch of the ORIGINAL message behind normalised[start:end], trimmed."""
    normalised = analysis.normalised
    start, end = max(start, 0), min(max(end, 0), len(normalised.text))
    if start >= end:
        return ""
    try:
        o_start, o_end = normalised.to_original(start, end)
        original = getattr(normalised, "original", None)
        if isinstance(original, str) and 0 <= o_start < o_end <= len(original):
            return original[o_start:o_end].strip()
    except (AttributeError, IndexError, ValueError):
        pass
    return normalised.text[start:end].strip()
