"""Features of the fast tier: hashed character n-grams and signal indicators.

Character n-grams (lengths 2..5, across word boundaries) of the normalised text are
hashed into a fixed number of columns, so no vocabulary is stored. Hashing is done for
a whole batch at once with numpy. Each occurrence counts 1/sqrt(number of n-grams in
the message), which makes a linear score cheap: a sum of weights, no sorting.
Digits are read as `0` so the model learns "an age", "a price", not particular numbers;
the signals carry the values.

The learned parts of the model read a `model_view` of each message, never the risk values
themselves: prices and contacts are cut out, every age number reads `00`, and attachment file
names are dropped. Risk enters only through the signal features in `RISK_FEATURES`, whose
weights are held non-negative, so a child's age in place of an adult's, or a price added,
can only raise a score (see fast_tier.py and cascade.py).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..gc_pause import cyclic_gc_paused
from ..text import Analysis, analyse

MAX_CHARS = 20_000  # text beyond this is not read by the classifier (1 MB messages stay cheap)
_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_COUNT_BEFORE = re.compile(r"(?<![\d.,])(\d[\d,.٬]*)\s+(?:\S+\s+)?$")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_DIGITS = str.maketrans({chr(base + d): "0" for base in (0x30, 0x660, 0x6F0) for d in range(10)})

SIGNAL_FEATURES: tuple[str, ...] = (
    "price",
    "age",
    "minor age",
    "contact",
    "phone",
    "username or link",
    "place",
    "person term",
    "person + sale",
    "person + auction",
    "person + wanted",
    "person + transfer",
    "person + price",
    "person + age",
    "person + minor",
    "people counted",
    "hidden person word",
    "age + price",
    "minor + price",
    "trade term + price",
    "several terms",
    "short text",
    "long text",
)
# Features that can only raise a score (their weights are bounded below by 0); the others
# ("people counted": news counting victims, text length) may weigh either way.
RISK_FEATURES: tuple[str, ...] = tuple(f for f in SIGNAL_FEATURES if f not in ("people counted", "short text", "long text"))
RISK_MASK = np.array([f in RISK_FEATURES for f in SIGNAL_FEATURES])
MASKED_AGE = "00"  # every age number as the learned parts read it
MIN_CHILD_AGE = 3  # "minor age" counts ages from 3: a canary "1 yr old" is no child offered
_ATTACHMENT = re.compile(
    r"<[^<>\n]{0,40}(?:omitted|attached|ضمیمه|مرفق|eklendi|dahil edilmedi)[^<>\n]{0,80}>"
    r"|\S+\.(?:jpe?g|png|webp|gif|heic|mp4|3gp|mov|opus|ogg|m4a|mp3|pdf|docx?|vcf|webm)\b",
    re.IGNORECASE,
)
_DIGIT_RUN = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class View:
    """A derived text and, per character, the index of the character it came from."""

    text: str
    positions: Sequence[int] | None  # None: the text itself (nothing was masked)

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the source text behind view[start:end]."""
        if self.positions is None:
            return start, end
        n = len(self.positions)
        if n == 0 or start >= end:
            return 0, 0
        start, end = max(0, min(start, n - 1)), max(1, min(end, n))
        return self.positions[start], self.positions[end - 1] + 1


def _spans_to_mask(analysis: Analysis, text: str, positions: Sequence[int] | None
                   ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(spans to cut, age spans) of `text`, whose characters came from the original at `positions`
    (None: `text` is the original)."""
    cut: list[tuple[int, int]] = []
    ages: list[tuple[int, int]] = []
    for signal in analysis.signals:
        if signal.type in ("price", "contact") or signal.type == "age":
            if positions is None:
                a, b = signal.start, signal.end
            else:
                a, b = bisect_left(positions, signal.start), bisect_left(positions, signal.end)
            if a < b:
                (ages if signal.type == "age" else cut).append((a, b))
    cut += [m.span() for m in _ATTACHMENT.finditer(text)]
    return cut, ages


def _masked(text: str, cut: list[tuple[int, int]], ages: list[tuple[int, int]]) -> View:
    """`text` with the `cut` spans replaced by one space and every digit run in `ages` by `00`."""
    if not cut and not ages:
        return View(text, None)
    edits = sorted([(a, b, " ") for a, b in cut] + [(a, b, "age") for a, b in ages])
    out: list[str] = []
    positions: list[int] = []
    at = 0
    for a, b, what in edits:
        if a < at:  # overlapping spans: the first one wins
            continue
        out.append(text[at:a])
        positions.extend(range(at, a))
        if what == " ":
            out.append(" ")
            positions.append(a)
        else:
            piece, last = text[a:b], 0
            for m in _DIGIT_RUN.finditer(piece):
                out.append(piece[last : m.start()] + MASKED_AGE)
                positions.extend(range(a + last, a + m.start()))
                positions.extend([a + m.start()] * len(MASKED_AGE))
                last = m.end()
            out.append(piece[last:])
            positions.extend(range(a + last, b))
        at = b
    out.append(text[at:])
    positions.extend(range(at, len(text)))
    return _single_spaced("".join(out), positions)


def _single_spaced(text: str, positions: list[int]) -> View:
    """Runs of spaces left by cut spans become one space; none at either end."""
    keep = [i for i, c in enumerate(text) if c != " " or (0 < i and text[i - 1] != " ")]
    while keep and text[keep[-1]] == " ":
        keep.pop()
    if keep and text[keep[0]] == " ":
        keep.pop(0)
    return View("".join(text[i] for i in keep), [positions[i] for i in keep])


def model_view(analysis: Analysis) -> View:
    """The normalised text as the fast tier reads it (positions index the normalised text)."""
    norm = analysis.normalised
    text = norm.text[:MAX_CHARS]
    if not analysis.signals and "." not in text and "<" not in text:
        return View(text, None)
    cut, ages = _spans_to_mask(analysis, text, norm.starts)
    return _masked(text, cut, ages)


def meaning_view(analysis: Analysis) -> str:
    """The original text as the transformer tier reads it: the same masking as `model_view`."""
    text = analysis.normalised.original[:MAX_CHARS]
    cut, ages = _spans_to_mask(analysis, text, None)
    return _masked(text, cut, ages).text


def ngram_text(normalised: str) -> str:
    """The string n-grams are taken from: lower case, digits as 0, one space around."""
    text = normalised[:MAX_CHARS]
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters (e.g. Turkish İ) lower to two characters
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return " " + lowered.translate(_DIGITS) + " "


def skeleton_text(text: str) -> str:
    """Only the letters of an `ngram_text`: `s_l a..v e` and `س_ب_ا ي_ا` become whole words again."""
    return " " + _NOT_LETTER.sub("", text) + " "


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX
    return h ^ (h >> np.uint64(33))


def _columns(h: np.ndarray, n_features: int) -> np.ndarray:
    """Hash values to columns (a mask when n_features is a power of two: the same result, faster)."""
    if n_features & (n_features - 1) == 0:
        return (h & np.uint64(n_features - 1)).astype(np.int64)
    return (h % np.uint64(n_features)).astype(np.int64)


@dataclass(frozen=True)
class NgramHashes:
    """Every n-gram occurrence of a batch: its row, column, and start/length in its text."""

    rows: np.ndarray
    cols: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    counts: np.ndarray  # n-gram occurrences per row


def _hashed(texts: Sequence[str], n_features: int, ngram_range: tuple[int, int], salt: int
            ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per n-gram length n: (n, where each n-gram starts in the joined texts, its row, its column).

    The texts are joined and hashed with a rolling polynomial; n-grams that would run
    into the next text are dropped, so a text hashes the same in any batch.
    """
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    room = np.repeat(np.cumsum(lens), lens) - np.arange(len(codes), dtype=np.int64)  # characters left in its text
    low, high = ngram_range
    h = codes
    with np.errstate(over="ignore"):
        for n in range(1, high + 1):
            if n > 1:
                h = h[:-1] * _PRIME + codes[n - 1 :]
            if n < low:
                continue
            valid = room[: len(h)] >= n
            yield n, valid, row_of[: len(h)][valid], _columns(_mix(h[valid] + np.uint64(n + 8 * salt)), n_features)


def hash_ngrams(texts: Sequence[str], n_features: int, ngram_range: tuple[int, int], salt: int = 0) -> NgramHashes:
    """Hash every character n-gram of every text (already passed through `ngram_text`).

    `salt` separates views of the same text (the same n-gram hashes elsewhere per salt).
    """
    offsets = np.concatenate(([0], np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))))
    rows, cols, starts, lengths = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], [], []
    for n, valid, n_rows, n_cols in _hashed(texts, n_features, ngram_range, salt):
        rows.append(n_rows)
        cols.append(n_cols)
        starts.append(np.flatnonzero(valid) - offsets[n_rows])
        lengths.append(np.full(len(n_rows), n, dtype=np.int64))
    rows_a = np.concatenate(rows)
    return NgramHashes(
        rows=rows_a,
        cols=np.concatenate(cols),
        starts=np.concatenate(starts or [np.zeros(0, dtype=np.int64)]),
        lengths=np.concatenate(lengths or [np.zeros(0, dtype=np.int64)]),
        counts=np.bincount(rows_a, minlength=len(texts)),
    )


def weight_sums(texts: Sequence[str], weights: np.ndarray, ngram_range: tuple[int, int], salt: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per text: the sum of `weights` over its n-gram occurrences, and how many there are.

    What scoring needs, without keeping every occurrence (see `hash_ngrams` for that).
    """
    sums = np.zeros(len(texts))
    counts = np.zeros(len(texts))
    for _n, _valid, rows, cols in _hashed(texts, len(weights), ngram_range, salt):
        sums += np.bincount(rows, weights=weights[cols], minlength=len(texts))
        counts += np.bincount(rows, minlength=len(texts))
    return sums, counts


def concat_hashes(parts: Sequence[NgramHashes]) -> NgramHashes:
    """The occurrences of several views of the same texts together."""
    return NgramHashes(
        rows=np.concatenate([p.rows for p in parts]),
        cols=np.concatenate([p.cols for p in parts]),
        starts=np.concatenate([p.starts for p in parts]),
        lengths=np.concatenate([p.lengths for p in parts]),
        counts=np.sum([p.counts for p in parts], axis=0),
    )


def occurrence_weights(hashes: NgramHashes) -> np.ndarray:
    """The value each occurrence adds to its column: 1/sqrt(n-grams in its message)."""
    return (1.0 / np.sqrt(np.maximum(hashes.counts, 1)))[hashes.rows]


def ngram_matrix(hashes: NgramHashes, n_rows: int, n_features: int) -> sp.csr_matrix:
    matrix = sp.csr_matrix(
        (occurrence_weights(hashes).astype(np.float32), (hashes.rows, hashes.cols)),
        shape=(n_rows, n_features),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return matrix


def signal_vector(analysis: Analysis, masked: View | None = None) -> np.ndarray:
    """Indicators of the signals found in one message, in the order of SIGNAL_FEATURES.

    Text length is read on the `model_view` (`masked`), so adding a price does not change it.
    """
    kinds: set[str] = set()
    terms = 0
    minor = False
    for signal in analysis.signals:
        kinds.add(signal.type)
        if signal.type == "term":
            kinds.add(f"term:{signal.subtype}")
            terms += 1
        elif signal.type == "age" and isinstance(signal.value, dict):
            minor = minor or (bool(signal.value.get("minor")) and signal.value.get("min", 0) >= MIN_CHILD_AGE)
        elif signal.type == "contact":
            kinds.add("phone" if signal.subtype == "phone" else "handle")
    person = "term:person" in kinds
    hidden = _hidden_person(analysis)
    anyone = person or hidden  # interactions count a person word however it is written
    trade = any(f"term:{t}" in kinds for t in ("sale", "auction", "wanted", "transfer"))
    price, age = "price" in kinds, "age" in kinds
    length = len((masked or model_view(analysis)).text.strip())
    values = (
        price,
        age,
        minor,
        "contact" in kinds,
        "phone" in kinds,
        "handle" in kinds,
        "place" in kinds,
        person,
        anyone and "term:sale" in kinds,
        anyone and "term:auction" in kinds,
        anyone and "term:wanted" in kinds,
        anyone and "term:transfer" in kinds,
        anyone and price,
        anyone and age,
        anyone and minor,
        _people_counted(analysis),
        hidden,
        age and price,
        minor and price,
        trade and price,
        min(terms, 4) / 4.0,
        length < 40,
        length > 400,
    )
    return np.asarray(values, dtype=np.float32)


@lru_cache(maxsize=1)
def _person_spellings() -> re.Pattern[str]:
    """The lexicon's person words (4+ letters, normalised, letters only) as one pattern."""
    from ..text import normalise
    from ..text.lexicon import TERMS
    from ..text.matching import alternation

    words = {_NOT_LETTER.sub("", normalise(s.lstrip("=")).text.lower()) for v in TERMS["person"].values() for s in v}
    return re.compile(alternation(w for w in words if len(w) >= 4))


def _hidden_person(analysis: Analysis) -> bool:
    """A person word the signals missed: inside another word (`کۆیلەمان`) or split by
    separators (`w_o m..an`, `س ب ي ة`); found in the letters of the message alone."""
    if any(s.type == "term" and s.subtype == "person" for s in analysis.signals):
        return False
    return _person_spellings().search(_NOT_LETTER.sub("", analysis.normalised.text[:MAX_CHARS].lower())) is not None


def _people_counted(analysis: Analysis) -> bool:
    """A number (10 or more) right before a person word, no age or price: "1,955 Yazidi women freed"."""
    original = analysis.normalised.original
    numeric = [(s.start, s.end) for s in analysis.signals if s.type in ("age", "price")]
    for signal in analysis.signals:
        if signal.type == "term" and signal.subtype == "person":
            before = original[max(0, signal.start - 30) : signal.start]
            found = _COUNT_BEFORE.search(before)
            if found and int("".join(c for c in found.group(1) if c.isdigit()) or 0) >= 10:
                start = signal.start - len(before) + found.start()
                if not any(a <= start < b for a, b in numeric):
                    return True
    return False


def signal_matrix(analyses: Sequence[Analysis], masked: Sequence[View] | None = None) -> np.ndarray:
    if not analyses:
        return np.zeros((0, len(SIGNAL_FEATURES)), dtype=np.float32)
    views = masked if masked is not None else [model_view(a) for a in analyses]
    return np.vstack([signal_vector(a, m) for a, m in zip(analyses, views)])


def analyse_all(texts: Sequence[Any]) -> list[Analysis]:
    """Analyses for texts (strings are analysed; Analysis objects are passed through)."""
    with cyclic_gc_paused():
        return [t if isinstance(t, Analysis) else analyse(str(t)[:MAX_CHARS]) for t in texts]
