"""The two-tier cascade: the fast tier scores everything; meaning (multilingual-e5) judges
every message that could be a listing by its structure.

A message goes to the transformer tier when it carries an age or a person reference (a
person word, or one hidden inside other letters). Priced goods with no age and no person
reference stay on the fast path. Routing reads nothing a price or an age's value could change,
so the two messages of a property test (an adult's age against a child's; with and without a
price) always take the same path. (Routing also by the fast tier's text margin was measured and
dropped: to keep 95% of the validation listings that no structure routes, it had to send 25% of
a goods-heavy channel to e5, and on the development set the cascade's AUC was no better for it.)

There the final margin is `w_fast * text margin + w_transformer * logit(e5) + w_risk * signal
margin + bias`, with `w_risk >= 0` and e5's logit clipped to +-3: the transformer reads the same
masked view, so risk enters only through the non-negative signal margin, and e5 is asked only
where its bounded say could change the flag (halving the messages it reads on a goods-heavy mix). Elsewhere the fast tier's own calibrated
probability stands. A minor offered for money (a minor's age and a price) whose meaning reads as
a listing (e5 probability >= `floor_gate`) is always queued: its score is at least the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from .fast_tier import sigmoid


class ProbabilityModel(Protocol):
    def predict_proba(self, X: Sequence[str]) -> np.ndarray: ...


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class CascadeParams:
    """Numbers that define the cascade (stored as JSON in the model card)."""

    w_fast: float = 1.0
    w_transformer: float = 0.0
    w_risk: float = 1.0
    bias: float = 0.0
    floor_gate: float = 1.0  # e5 probability from which a minor offered for money is always queued

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> "CascadeParams":
        return cls(**{k: float(v) for k, v in values.items()})


@dataclass(frozen=True)
class Structure:
    """What routing and the risk floor read of each message (arrays, one row per message)."""

    text_margin: np.ndarray  # the fast tier's n-gram margin with its intercept
    signal_margin: np.ndarray  # the fast tier's signal margin (non-decreasing in every risk signal)
    routed_by_structure: np.ndarray  # an age or a person reference
    minor_for_money: np.ndarray  # a minor's age and a price


def routed(structure: Structure) -> np.ndarray:
    """The messages the transformer tier judges."""
    return structure.routed_by_structure


E5_LOGIT_LIMIT = 6.0  # e5's say in a final margin is bounded: its logit is clipped to +-6


def meaning_logit(p_transformer: np.ndarray) -> np.ndarray:
    return np.clip(logit(p_transformer), -E5_LOGIT_LIMIT, E5_LOGIT_LIMIT)


def base_margin(params: CascadeParams, structure: Structure) -> np.ndarray:
    """The final margin of routed messages before e5's part."""
    return params.w_fast * structure.text_margin + params.w_risk * structure.signal_margin + params.bias


def combine(params: CascadeParams, structure: Structure, p_transformer: np.ndarray) -> np.ndarray:
    """Final probability of routed messages from both tiers (rows of `structure` = rows of p)."""
    return sigmoid(base_margin(params, structure) + params.w_transformer * meaning_logit(p_transformer))


def cascade_scores(
    p_fast: np.ndarray,
    structure: Structure,
    transformer: ProbabilityModel | None,
    params: CascadeParams,
    meaning_text: Callable[[int], str],
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(final probability, mask of messages the transformer judged, their e5 probabilities).

    `meaning_text(i)` is the text e5 reads for message i, made only for the messages it is asked about.

    e5 is asked only where its bounded say could change the flag: a routed message whose
    margin is flagged (or unflagged) whatever e5 says gets e5's best (or worst) case instead,
    which keeps scores monotone in the risk signals and the same in any batch. A minor offered
    for money is always asked (the floor needs e5's reading).
    """
    final = np.array(p_fast, dtype=np.float64)
    asked = np.zeros(len(final), dtype=bool)
    p_meaning = np.full(len(final), np.nan)
    if transformer is None or params.w_transformer == 0:
        return final, asked, p_meaning
    mask = routed(structure)
    base = base_margin(params, structure)
    reach = abs(params.w_transformer) * E5_LOGIT_LIMIT
    cut = float(logit(np.array([threshold]))[0])
    sure_yes = mask & (base - reach >= cut)
    sure_no = mask & (base + reach < cut) & ~structure.minor_for_money
    final[sure_yes] = sigmoid(base[sure_yes] + reach)
    final[sure_no] = sigmoid(base[sure_no] - reach)
    asked = mask & ~sure_yes & ~sure_no
    if asked.any():
        rows = np.flatnonzero(asked)
        unique, inverse = np.unique(np.array([meaning_text(int(i)) for i in rows], dtype=np.object_), return_inverse=True)
        p_trans = transformer.predict_proba(list(unique))[:, 1][inverse]  # reposts are read once
        p_meaning[rows] = p_trans
        final[rows] = sigmoid(base[rows] + params.w_transformer * meaning_logit(p_trans))
        floor = structure.minor_for_money[rows] & (p_trans >= params.floor_gate)
        final[rows[floor]] = np.maximum(final[rows[floor]], threshold)
    return final, asked, p_meaning


def fit_combiner(structure: Structure, p_transformer: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(w_fast, w_transformer, w_risk, bias) of a logistic combination, with w_risk >= 0."""
    import scipy.sparse as sp

    from .fast_tier import fit_bounded_logistic

    features = np.column_stack([structure.text_margin, meaning_logit(p_transformer), structure.signal_margin])
    counts = np.bincount(y, minlength=2)
    if counts.min() < 5:  # too few to learn from: average the two tiers
        return 0.5, 0.5, 0.5, 0.0
    weights = len(y) / (2.0 * counts[y])
    coef, bias = fit_bounded_logistic(sp.csr_matrix(features), y, 10.0, np.array([-np.inf, -np.inf, 0.0]), weights)
    return float(coef[0]), float(coef[1]), float(coef[2]), bias


def choose_floor_gate(p_transformer: np.ndarray, y: np.ndarray, minor_for_money: np.ndarray,
                      max_false: float = 0.02) -> float:
    """The lowest e5 probability from which at most `max_false` of the validation non-listings with a
    minor's age and a price would be raised to the threshold."""
    negatives = np.sort(p_transformer[(y == 0) & minor_for_money])
    if len(negatives) == 0:
        return 0.5
    allowed = int(np.floor(max_false * len(negatives)))
    return float(min(max(negatives[len(negatives) - 1 - allowed] + 1e-6, 0.05), 0.95))


def choose_threshold(scores: np.ndarray, y: np.ndarray, min_recall: float = 0.95, f1_tolerance: float = 0.01) -> float:
    """The flag threshold, from validation: recall >= min_recall, and F1 within `f1_tolerance`
    of the best such F1, taking the LOWEST threshold that qualifies.

    Validation F1 is flat over a wide range of thresholds; within it we lean towards recall,
    because a missed listing costs more than an analyst reviewing one more message, and
    because phrasing unseen in training scores lower than phrasing seen (validation and
    test templates are disjoint from training ones).
    """
    positives = max(int((y == 1).sum()), 1)
    candidates = []
    for threshold in np.unique(np.round(scores, 4)):
        flagged = scores >= threshold
        tp = int((flagged & (y == 1)).sum())
        if tp / positives >= min_recall:
            candidates.append((float(threshold), 2 * tp / (int(flagged.sum()) + positives)))
    if not candidates:
        return 0.5
    best = max(f1 for _t, f1 in candidates)
    return min(t for t, f1 in candidates if f1 >= best - f1_tolerance)
