"""Reasons of the fast tier: the words and signals that pushed each message's score.

Each n-gram's weight goes to the word holding its middle character, so a reason is a
whole word of the original message. A batch is attributed at once with numpy: words are
found from a character table over the joined texts, not per message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from ..text import Analysis
from .features import SIGNAL_FEATURES, NgramHashes, View

_LETTER = re.compile(r"[^\W\d_]")  # what `features.skeleton_text` keeps
_SPACE = re.compile(r"\s")  # what separates words


@cache
def _bmp_table(pattern: str) -> np.ndarray:
    """For every code point below 0x10000: does `pattern` match that one character?"""
    compiled = re.compile(pattern)
    return np.fromiter((compiled.match(chr(c)) is not None for c in range(0x10000)), dtype=bool, count=0x10000)


def char_mask(codes: np.ndarray, pattern: re.Pattern[str]) -> np.ndarray:
    """Which of the code points match the one-character `pattern`."""
    mask = np.zeros(len(codes), dtype=bool)
    low = codes < 0x10000
    mask[low] = _bmp_table(pattern.pattern)[codes[low]]
    for code in np.unique(codes[~low]):  # emoji and other astral characters: few, test each
        if pattern.match(chr(int(code))):
            mask[codes == code] = True
    return mask


class _Words:
    """The words of a batch of `ngram_text`s joined end to end (each text starts and ends with a space)."""

    def __init__(self, texts: Sequence[str]) -> None:
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.offsets = np.concatenate(([0], np.cumsum(lens)))
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        inside = ~char_mask(codes, _SPACE)
        before = np.concatenate(([False], inside[:-1]))
        after = np.concatenate((inside[1:], [False]))
        self.starts = np.flatnonzero(inside & ~before)  # global positions
        self.ends = np.flatnonzero(inside & ~after) + 1
        self.rows = np.searchsorted(self.offsets, self.starts, side="right") - 1
        self.owner = np.where(inside, np.cumsum(inside & ~before) - 1, -1)  # word of each character, or -1
        letters = char_mask(codes, _LETTER)
        self.letters = np.flatnonzero(letters)  # global positions of the letters
        self.letter_offsets = np.searchsorted(self.letters, self.offsets)  # letters before each text

    def of_text_view(self, view: NgramHashes) -> np.ndarray:
        """The word holding each occurrence's middle character (-1: a space)."""
        return self.owner[self.offsets[view.rows] + view.starts + view.lengths // 2]

    def of_skeleton_view(self, view: NgramHashes) -> np.ndarray:
        """The same for the letters-only view: its position p (after the leading space) is letter p-1."""
        k = view.starts + view.lengths // 2 - 1
        n_letters = np.diff(self.letter_offsets)[view.rows]
        inside = (k >= 0) & (k < n_letters)
        owner = np.full(len(k), -1)
        owner[inside] = self.owner[self.letters[self.letter_offsets[view.rows[inside]] + k[inside]]]
        return owner


def batch_reasons(
    analyses: Sequence[Analysis],
    masked: Sequence[View],
    texts: Sequence[str],
    views: Sequence[NgramHashes],
    ngram_coef: np.ndarray,
    signal_values: np.ndarray,
    top: int,
) -> list[list[dict[str, Any]]]:
    """Per message, up to `top` words and `top` signals by weight, the strongest `top + 3` kept,
    each word once (its strongest occurrence).

    `masked` are the analyses' `model_view`s and `texts` their `ngram_text`s; `views` are the
    text view and then (optionally) the letters-only view of `texts`; `signal_values` are the
    signal features times their weights.
    """
    words = _Words(texts)
    counts = np.sum([v.counts for v in views], axis=0) if views else np.zeros(len(texts))
    scales = 1.0 / np.sqrt(np.maximum(counts, 1))
    totals = np.zeros(len(words.starts))
    for view, locate in zip(views, (words.of_text_view, words.of_skeleton_view)):
        owner = locate(view)
        keep = owner >= 0
        weights = ngram_coef[view.cols[keep]] * scales[view.rows[keep]]
        totals += np.bincount(owner[keep], weights=weights, minlength=len(totals))
    reasons: list[list[dict[str, Any]]] = [[] for _ in texts]
    chosen = _strongest(words.rows, totals, top)
    rows = words.rows[chosen]
    starts = words.starts[chosen] - words.offsets[rows] - 1  # ngram_text adds one space in front
    ends = starts + words.ends[chosen] - words.starts[chosen]
    seen: list[set[str]] = [set() for _ in texts]
    for row, start, end, weight in zip(rows.tolist(), starts.tolist(), ends.tolist(), totals[chosen].tolist()):
        feature = original_span(analyses[row], *masked[row].source_span(start, end))
        if feature and feature.lower() not in seen[row]:
            seen[row].add(feature.lower())
            reasons[row].append({"kind": "ngram", "feature": feature, "weight": round(weight, 4)})
    signal_rows, signal_cols = np.nonzero(signal_values)
    strongest = _strongest(signal_rows, signal_values[signal_rows, signal_cols], top)
    rows, cols = signal_rows[strongest], signal_cols[strongest]
    for row, col, weight in zip(rows.tolist(), cols.tolist(), signal_values[rows, cols].tolist()):
        reasons[row].append({"kind": "signal", "feature": SIGNAL_FEATURES[col], "weight": round(weight, 4)})
    return [sorted(r, key=lambda r: -abs(r["weight"]))[: top + 3] for r in reasons]


def _strongest(groups: np.ndarray, values: np.ndarray, top: int) -> np.ndarray:
    """Indices of the `top` non-zero values of largest magnitude in each group."""
    order = np.lexsort((-np.abs(values), groups))
    group_starts = np.searchsorted(groups[order], groups[order], side="left")
    rank = np.arange(len(order)) - group_starts
    chosen = order[rank < top]
    return chosen[values[chosen] != 0]


def original_span(analysis: Analysis, start: int, end: int) -> str:
    """The stretch of the ORIGINAL message behind normalised[start:end], trimmed."""
    normalised = analysis.normalised
    o_start, o_end = normalised.to_original(start, end)  # clamps to the text; an empty span gives ""
    return normalised.original[o_start:o_end].strip()
