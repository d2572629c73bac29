"""Active learning: which messages to label next, by uncertainty and diversity.

Uncertainty sampling picks messages the model is least sure about: probability near
the model's flag threshold (its decision point, e.g. 0.14, not 0.5; a threshold per item is
allowed when items were scored by different models); alone it labels twenty reposts of one
doubtful ad. So the most
uncertain `pool_factor * k` messages are re-ranked greedily: each pick maximises
uncertainty x (1 - its highest cosine similarity, on character 3-5-gram vectors, to
anything already picked or already labelled). Reposts and near-duplicates of labelled
messages fall to the back; the batch covers the distinct doubtful styles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

N_FEATURES = 2**18


def uncertainty(probabilities: Sequence[float], threshold: float | Sequence[float]) -> np.ndarray:
    """1 at the flag threshold, 0 at certainty (distance to the threshold, scaled to its side)."""
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(threshold, dtype=np.float64)
    span = np.where(p >= t, 1.0 - t, t)
    return 1.0 - np.abs(p - t) / np.maximum(span, 1e-9)


def char_vectors(texts: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised hashed character 3-5-gram counts (any script, no tokenizer)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=N_FEATURES,
                                   alternate_sign=False, norm="l2", lowercase=True)
    return vectorizer.transform([t or "" for t in texts]).tocsr()


def select_batch(probabilities: Sequence[float], texts: Sequence[str], k: int, *, threshold: float | Sequence[float],
                 labelled_texts: Sequence[str] = (), pool_factor: int = 10) -> list[int]:
    """Indices of `k` messages to label next, in order (uncertain and unlike each other)."""
    n = len(texts)
    k = min(k, n)
    if k <= 0:
        return []
    u = uncertainty(probabilities, threshold)
    pool = np.argsort(-u, kind="stable")[: min(n, max(k * pool_factor, k))]
    vectors = char_vectors([texts[i] for i in pool])
    nearest = np.zeros(len(pool))
    if len(labelled_texts):
        nearest = (vectors @ char_vectors(labelled_texts).T).max(axis=1).toarray().ravel()
    chosen: list[int] = []
    available = np.ones(len(pool), dtype=bool)
    for _ in range(k):
        gain = np.where(available, u[pool] * (1.0 - np.clip(nearest, 0.0, 1.0)), -np.inf)
        best = int(np.argmax(gain))
        chosen.append(int(pool[best]))
        available[best] = False
        nearest = np.maximum(nearest, (vectors @ vectors[best].T).toarray().ravel())
    return chosen
