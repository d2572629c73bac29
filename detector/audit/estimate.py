"""Field recall from a recall audit (pure: no database).

The number of listings among unflagged messages is estimated with the stratified expansion
(Horvitz-Thompson) estimator of a total, M = sum_h N_h y_h / m_h, over the labelled sample
items (m_h of stratum h; items still undecided are treated as missing at random within their
stratum). Listings are rare, so a normal interval would collapse to a point when the sample
finds none; the interval is Korn and Graubard's (1998): Clopper-Pearson at the design's
effective sample size p(1-p)/v(p), capped at the labelled count and adjusted for the design's
degrees of freedom (labelled items minus strata), times N. It never goes below the listings
actually found, nor above N minus the non-listings actually found. Recall is
F / (F + M), with F the flagged listings (flagged messages x the share of decided ones judged a
listing, taken as known), so its interval follows from M's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy import stats

METHOD = ("stratified Horvitz-Thompson estimate of the missed total; Korn-Graubard interval "
          "(Clopper-Pearson at the design effective sample size, df-adjusted)")


@dataclass(frozen=True)
class StratumTally:
    """One stratum of an audit round: its size, how many were drawn, labelled, and found listings."""

    source_id: int
    language: str
    band: str
    size: int
    sampled: int
    labelled: int
    listings: int


@dataclass(frozen=True)
class FlaggedTally:
    """Flagged messages of a cell (channel, language): how many, how many decided, how many listings."""

    flagged: int = 0
    decided: int = 0
    listings: int = 0

    def __add__(self, other: "FlaggedTally") -> "FlaggedTally":
        return FlaggedTally(self.flagged + other.flagged, self.decided + other.decided, self.listings + other.listings)

    @property
    def estimated_listings(self) -> float | None:
        """Listings among the flagged: all of them scaled by the decided ones' share of listings."""
        return self.flagged * self.listings / self.decided if self.decided else None


@dataclass(frozen=True)
class MissedEstimate:
    """Estimated listings among unflagged messages, with its interval (None when nothing is labelled)."""

    population: int  # unflagged messages in strata with a labelled item
    uncovered: int  # unflagged messages in strata where nothing is labelled yet
    sampled: int
    labelled: int
    found: int  # listings found among the labelled sample items
    missed: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class DomainEstimate:
    """Missed listings and field recall for all messages, one channel or one language."""

    kind: str  # all | channel | language
    key: str
    name: str
    missed: MissedEstimate
    flagged: FlaggedTally
    recall: float | None = None
    recall_low: float | None = None
    recall_high: float | None = None


@dataclass(frozen=True)
class RecallReport:
    """A round's estimates: overall, per channel and per language."""

    round: int
    confidence: float
    overall: DomainEstimate
    channels: list[DomainEstimate] = field(default_factory=list)
    languages: list[DomainEstimate] = field(default_factory=list)
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_missed(strata: Sequence[StratumTally], confidence: float = 0.95) -> MissedEstimate:
    """The stratified estimate of listings among the strata's unflagged messages, with its
    Korn-Graubard interval at `confidence` (see the module docstring)."""
    covered = [s for s in strata if s.labelled > 0]
    population = sum(s.size for s in covered)
    counts = dict(uncovered=sum(s.size for s in strata if s.labelled == 0), sampled=sum(s.sampled for s in strata),
                  labelled=sum(s.labelled for s in covered), found=sum(s.listings for s in covered))
    if not covered:
        return MissedEstimate(population, missed=None, low=None, high=None, **counts)
    alpha = 1 - confidence
    labelled = counts["labelled"]
    missed = sum(s.size * s.listings / s.labelled for s in covered)  # the expansion estimate of the total
    p = missed / population
    variance = sum((s.size / population) ** 2 * (1 - s.labelled / s.size)
                   * (s.listings / s.labelled) * (1 - s.listings / s.labelled) / (s.labelled - 1)
                   for s in covered if s.labelled > 1)
    n_eff = min(float(labelled), p * (1 - p) / variance) if variance > 0 else float(labelled)
    degrees = max(labelled - len(covered), 1)
    if labelled > 1:
        n_eff *= (stats.t.ppf(1 - alpha / 2, labelled - 1) / stats.t.ppf(1 - alpha / 2, degrees)) ** 2
    x = p * n_eff
    low = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n_eff - x + 1))
    high = 1.0 if x >= n_eff else float(stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    known_not = labelled - counts["found"]
    return MissedEstimate(population, missed=missed, low=max(population * low, counts["found"]),
                          high=min(population * high, population - known_not), **counts)


def _domain(kind: str, key: str, name: str, strata: Sequence[StratumTally], flagged: FlaggedTally,
            confidence: float) -> DomainEstimate:
    missed = estimate_missed(strata, confidence)
    found = flagged.estimated_listings
    if found is None or missed.missed is None or missed.low is None or missed.high is None or missed.uncovered:
        return DomainEstimate(kind, key, name, missed, flagged)
    if found == 0:
        return DomainEstimate(kind, key, name, missed, flagged, 0.0 if missed.missed else None, 0.0,
                              0.0 if missed.low else 1.0)

    def recall(m: float) -> float:
        return found / (found + m)

    return DomainEstimate(kind, key, name, missed, flagged, recall(missed.missed), recall(missed.high), recall(missed.low))


def field_recall(round_: int, strata: Sequence[StratumTally], flagged: Mapping[tuple[int, str], FlaggedTally],
                 channel_names: Mapping[int, str], confidence: float = 0.95) -> RecallReport:
    """Missed listings and recall overall, per channel and per language, from an audit round's
    strata and the flagged messages' tallies per (channel, language)."""
    def domains(kind: str, of_stratum: Callable[[StratumTally], Hashable], of_cell: Callable[[tuple[int, str]], Hashable],
                name: Callable[[Any], str]) -> list[DomainEstimate]:
        keys = sorted({of_stratum(s) for s in strata} | {of_cell(c) for c in flagged}, key=str)
        return [_domain(kind, str(k), name(k), [s for s in strata if of_stratum(s) == k],
                        sum((t for c, t in flagged.items() if of_cell(c) == k), FlaggedTally()), confidence)
                for k in keys]

    overall = _domain("all", "all", "All", strata, sum(flagged.values(), FlaggedTally()), confidence)
    return RecallReport(
        round_, confidence, overall,
        channels=domains("channel", lambda s: s.source_id, lambda c: c[0], lambda k: channel_names.get(k, f"channel {k}")),
        languages=domains("language", lambda s: s.language, lambda c: c[1], str),
    )
