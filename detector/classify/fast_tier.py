"""The fast tier: hashed character n-grams + signal indicators into a linear model.

Follows the scikit-learn estimator contract: `fit` returns self, learned attributes end
in `_`, `predict_proba` columns follow `classes_`. X is a sequence of texts or of
`detector.text.Analysis` objects (pass analyses to avoid analysing twice).
Probabilities are Platt-calibrated on a held-out set given to `fit`.

The n-grams are taken from each message's `model_view` (no prices, contacts or age values);
the weights of the risk signals (`features.RISK_FEATURES`) are fitted with a lower bound of 0
(L-BFGS-B), so the generator's co-occurrences cannot teach the model that a child's age, a
price or a contact makes a listing less likely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from ..gc_pause import cyclic_gc_paused
from ..text import Analysis
from .features import (
    RISK_MASK,
    SIGNAL_FEATURES,
    NgramHashes,
    analyse_all,
    concat_hashes,
    hash_ngrams,
    ngram_matrix,
    model_view,
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


def fit_bounded_logistic(X: sp.csr_matrix, y: np.ndarray, C: float, lower: np.ndarray,
                         sample_weight: np.ndarray) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression with coefficient lower bounds (-inf or 0): (coef, intercept).

    Minimises C * sum(w_i * log(1 + exp(-y_i m_i))) + |coef|^2 / 2 with L-BFGS-B; the intercept
    is not regularised.
    """
    signs = np.where(y == 1, 1.0, -1.0)
    weights = C * sample_weight
    n_features = X.shape[1]
    X = X.astype(np.float64).tocsr()
    Xt = X.T.tocsr()

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = params[:-1], params[-1]
        z = signs * (X @ coef + intercept)
        value = float(np.sum(weights * np.logaddexp(0.0, -z)) + 0.5 * coef @ coef)
        g = -weights * signs * (1.0 / (1.0 + np.exp(np.clip(z, -40, 40))))
        return value, np.concatenate([Xt @ g + coef, [g.sum()]])

    bounds = [(low if np.isfinite(low) else None, None) for low in lower] + [(None, None)]
    result = minimize(loss, np.zeros(n_features + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 3000, "maxfun": 6000, "ftol": 1e-10, "gtol": 1e-6})
    return result.x[:-1], float(result.x[-1])


def fit_platt(margins: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: (a, b) with P(listing) = sigmoid(a * margin + b)."""
    model = LogisticRegression(C=1e4).fit(np.asarray(margins, dtype=np.float64).reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


@dataclass(frozen=True)
class FastParts:
    """The fast tier's reading of a batch: margins, signal indicators, reasons (when asked)."""

    text: np.ndarray  # n-gram margin of the model view, with the intercept
    signal: np.ndarray  # signal margin
    indicators: np.ndarray  # (n, len(SIGNAL_FEATURES)) signal features
    reasons: list[list[dict[str, Any]]]

    def column(self, feature: str) -> np.ndarray:
        return self.indicators[:, SIGNAL_FEATURES.index(feature)] > 0


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
        masked = [model_view(a) for a in analyses]
        hashes = concat_hashes(self._views([ngram_text(m.text) for m in masked]))
        grams = ngram_matrix(hashes, len(analyses), self.n_features)
        signals = sp.csr_matrix(signal_matrix(analyses, masked) * self.signal_scale)
        return sp.hstack([grams, signals], format="csr")

    # ------------------------------------------------------------------ estimator
    def fit(self, X: Sequence[Any], y: Sequence[int] | np.ndarray, *, X_calib: Sequence[Any] | None = None,
            y_calib: Sequence[int] | np.ndarray | None = None) -> "FastTier":
        """Fit on (X, y); calibrate on (X_calib, y_calib), or on X itself when none is given."""
        analyses = analyse_all(X)
        labels = np.asarray(y, dtype=np.int64)
        self.classes_ = np.unique(labels)
        if list(self.classes_) != [0, 1]:
            raise ValueError("FastTier needs both classes 0 and 1 in y")
        matrix = self._matrix(analyses)
        lower = np.concatenate([np.full(self.n_features, -np.inf), np.where(RISK_MASK, 0.0, -np.inf)])
        counts = np.bincount(labels, minlength=2)
        balanced = len(labels) / (2.0 * counts[labels]) if self.class_weight == "balanced" else np.ones(len(labels))
        coef, intercept = fit_bounded_logistic(matrix, labels, self.C, lower, balanced)
        weights = coef.astype(np.float32)
        self.ngram_coef_ = weights[: self.n_features]
        self.signal_coef_ = weights[self.n_features :] * np.float32(self.signal_scale)
        self.intercept_ = intercept
        if X_calib is None:
            self.calibration_ = fit_platt(self.decision_function(analyses), labels)
        else:
            self.calibration_ = fit_platt(self.decision_function(X_calib), np.asarray(y_calib))
        return self

    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """The linear margin: the text part plus the signal part (see `margin_parts`)."""
        text, signals = self.margin_parts(analyse_all(X))
        return text + signals

    def margin_parts(self, analyses: Sequence[Analysis]) -> tuple[np.ndarray, np.ndarray]:
        """Per message (text margin with the intercept, signal margin), with no matrix built.

        The text margin reads only the `model_view`, so it is the same for a child's age as for an
        adult's and unchanged by a price or contact added; the signal margin is non-decreasing in
        every risk signal. Worked through in chunks, so the hashing's arrays stay small.
        """
        parts = self._parts(analyses, explain=False, top=0)
        return parts.text, parts.signal

    def _parts(self, analyses: Sequence[Analysis], *, explain: bool, top: int) -> FastParts:
        texts_out, signals_out, reasons = [np.zeros(0)], [np.zeros(0)], []
        indicators = [np.zeros((0, len(SIGNAL_FEATURES)), dtype=np.float32)]
        with cyclic_gc_paused():
            for start in range(0, len(analyses), CHUNK):
                chunk = analyses[start : start + CHUNK]
                masked = [model_view(a) for a in chunk]
                texts = [ngram_text(m.text) for m in masked]
                signals = signal_matrix(chunk, masked)
                sums: np.ndarray | int  # sum() of no views would be 0
                counts: np.ndarray | int
                if explain:
                    views = self._views(texts)
                    sums = sum(np.bincount(v.rows, weights=self.ngram_coef_[v.cols], minlength=len(chunk)) for v in views)
                    counts = sum(v.counts for v in views)
                    reasons += batch_reasons(chunk, masked, texts, views, self.ngram_coef_, signals * self.signal_coef_, top)
                else:
                    sums, counts = np.zeros(len(texts)), np.zeros(len(texts))
                    for view, ngrams, salt in self._view_texts(texts):
                        view_sums, view_counts = weight_sums(view, self.ngram_coef_, ngrams, salt)
                        sums, counts = sums + view_sums, counts + view_counts
                texts_out.append(sums / np.sqrt(np.maximum(counts, 1)) + self.intercept_)
                signals_out.append(signals @ self.signal_coef_)
                indicators.append(signals)
        return FastParts(np.concatenate(texts_out), np.concatenate(signals_out), np.vstack(indicators), reasons)

    def calibrated(self, margins: np.ndarray) -> np.ndarray:
        """P(listing) from a margin (Platt scaling)."""
        a, b = self.calibration_
        return sigmoid(a * margins + b)

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        positive = self.calibrated(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    # ------------------------------------------------------------------ reasons
    def parts_and_reasons(self, analyses: Sequence[Analysis], top: int = 5) -> FastParts:
        """`margin_parts` and each message's reasons: the words (as written in the message) and
        signals that pushed its score most, from one hashing of each chunk of the batch.

        Positive weights push towards "listing" (see `reasons.batch_reasons`).
        """
        return self._parts(analyses, explain=True, top=top)

    def proba_and_reasons(self, analyses: Sequence[Analysis], top: int = 5) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """P(listing) per message and its reasons (see `parts_and_reasons`)."""
        parts = self.parts_and_reasons(analyses, top)
        return self.calibrated(parts.text + parts.signal), parts.reasons

    def parts(self, analyses: Sequence[Analysis]) -> FastParts:
        """`margin_parts` with the signal indicators, and no reasons."""
        return self._parts(analyses, explain=False, top=0)

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
