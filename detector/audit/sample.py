"""Drawing a stratified random sample of unflagged messages (pure: no database).

Strata are channel x language x score band. The sample size of each stratum follows the
optimal integer Neyman allocation (Wright 2012: each next unit goes to the stratum with the
largest N_h S_h / sqrt(n_h (n_h + 1))), with S_h guessed from the stratum's mean score, so the
bands nearer the threshold, where misses gather, are sampled more densely. Every stratum gets
two units (one when the budget is short), so none is left unestimated. The weights make the
estimate unbiased whatever the guess: only its precision depends on it.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DetectorError

DEFAULT_EDGES = (0.02, 0.05, 0.1)
SPREAD_FLOOR = 0.01  # the prevalence guessed for a stratum is at least this (no stratum is written off)
Stratum = tuple[int, str, str]  # (source id, language, score band)


class AuditError(DetectorError):
    """A recall audit cannot be drawn or estimated as asked."""


@dataclass(frozen=True)
class Candidate:
    """An unflagged message: its latest score and the stratum variables."""

    message_id: int
    score_id: int
    source_id: int
    language: str
    probability: float


@dataclass(frozen=True)
class Draw:
    """A sampled message, its stratum, and the stratum's size and sample size at drawing time."""

    candidate: Candidate
    stratum: Stratum
    stratum_size: int
    stratum_sampled: int

    @property
    def weight(self) -> float:
        """The inverse of the message's inclusion probability."""
        return self.stratum_size / self.stratum_sampled


def parse_edges(text: str) -> tuple[float, ...]:
    """Band edges from "0.02,0.05,0.1": strictly increasing numbers inside (0, 1)."""
    try:
        edges = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise AuditError(f"score bands must be numbers separated by commas, not {text[:60]!r}") from exc
    if any(not 0 < e < 1 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise AuditError(f"score band edges must increase strictly between 0 and 1, not {text[:60]!r}")
    return edges


def band_of(probability: float, edges: Sequence[float]) -> str:
    """The score band holding `probability`, named by its bounds ("0.02-0.05")."""
    i = bisect_right(edges, probability)
    low = 0.0 if i == 0 else edges[i - 1]
    high = 1.0 if i == len(edges) else edges[i]
    return f"{low:g}-{high:g}"


def stratify(candidates: Iterable[Candidate], edges: Sequence[float]) -> dict[Stratum, list[Candidate]]:
    """Candidates grouped by stratum, each group in message id order."""
    strata: dict[Stratum, list[Candidate]] = {}
    for c in candidates:
        strata.setdefault((c.source_id, c.language, band_of(c.probability, edges)), []).append(c)
    return {key: sorted(group, key=lambda c: c.message_id) for key, group in sorted(strata.items())}


def spread_guess(probabilities: Sequence[float]) -> float:
    """A guess of a stratum's standard deviation of the 0/1 outcome, from its mean score."""
    p = min(max(float(np.mean(probabilities)), SPREAD_FLOOR), 0.5)
    return math.sqrt(p * (1 - p))


def allocate(sizes: Mapping[Stratum, int], spreads: Mapping[Stratum, float], n: int) -> dict[Stratum, int]:
    """Sample sizes per stratum summing to min(n, total): two per stratum (one when `n` is
    short, all of a smaller stratum), the rest by optimal integer Neyman allocation."""
    if n < len(sizes):
        raise AuditError(f"a sample of {n} cannot cover the {len(sizes)} strata (channel x language x score band) "
                         f"of unflagged messages: ask for at least {len(sizes)}, or use fewer score bands")
    floor = 2 if n >= sum(min(size, 2) for size in sizes.values()) else 1
    alloc = {key: min(size, floor) for key, size in sizes.items()}
    heap = [(-_gain(sizes[k], spreads[k], alloc[k]), k) for k in sorted(sizes) if alloc[k] < sizes[k]]
    heapq.heapify(heap)
    for _ in range(n - sum(alloc.values())):
        if not heap:
            break
        _, key = heapq.heappop(heap)
        alloc[key] += 1
        if alloc[key] < sizes[key]:
            heapq.heappush(heap, (-_gain(sizes[key], spreads[key], alloc[key]), key))
    return alloc


def _gain(size: int, spread: float, taken: int) -> float:
    return size * spread / math.sqrt(taken * (taken + 1))


def draw_sample(candidates: Iterable[Candidate], n: int, seed: int,
                edges: Sequence[float] = DEFAULT_EDGES) -> list[Draw]:
    """A stratified simple random sample without replacement of about `n` candidates; the same
    candidates, `n`, seed and edges always give the same sample."""
    if n < 1:
        raise AuditError(f"the sample size must be at least 1, not {n}")
    strata = stratify(candidates, edges)
    if not strata:
        raise AuditError("there are no unflagged scored messages to audit: run `detector score` first")
    sizes = {key: len(group) for key, group in strata.items()}
    alloc = allocate(sizes, {key: spread_guess([c.probability for c in group]) for key, group in strata.items()}, n)
    rng = np.random.default_rng(seed)
    draws: list[Draw] = []
    for key, group in strata.items():
        chosen = np.sort(rng.choice(len(group), size=alloc[key], replace=False))
        draws.extend(Draw(group[int(i)], key, len(group), alloc[key]) for i in chosen)
    return draws
