"""Recall audits, pure parts: the stratified sample and the estimate of missed listings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from detector.audit.estimate import FlaggedTally, StratumTally, estimate_missed, field_recall
from detector.audit.sample import AuditError, Candidate, allocate, band_of, draw_sample, parse_edges

LANGS = ("ar", "en", "fa")


def population(seed: int, size: int = 3000) -> list[Candidate]:
    """Unflagged messages in 3 channels x 3 languages, scores skewed low as they are below a threshold."""
    rng = np.random.default_rng(seed)
    return [Candidate(i, 10_000 + i, int(rng.integers(1, 4)), LANGS[int(rng.integers(3))], float(rng.beta(0.5, 20)))
            for i in range(size)]


def tallies(draws, listings: set[int], labelled=lambda d: True) -> list[StratumTally]:
    groups: dict = {}
    for d in draws:
        groups.setdefault(d.stratum, []).append(d)
    return [StratumTally(*key, g[0].stratum_size, g[0].stratum_sampled, sum(1 for d in g if labelled(d)),
                         sum(1 for d in g if labelled(d) and d.candidate.message_id in listings))
            for key, g in groups.items()]


def test_bands_and_edges():
    assert [band_of(p, (0.02, 0.05)) for p in (0.0, 0.019, 0.02, 0.07, 1.0)] == ["0-0.02", "0-0.02", "0.02-0.05",
                                                                                 "0.05-1", "0.05-1"]
    assert parse_edges("0.02, 0.05,0.1") == (0.02, 0.05, 0.1)
    for bad in ("0.1,0.05", "abc", "0,0.5", "0.2,1.5"):
        with pytest.raises(AuditError):
            parse_edges(bad)


def test_allocation_covers_every_stratum_and_favours_spread():
    sizes = {(1, "ar", "a"): 1000, (1, "ar", "b"): 1000, (2, "en", "a"): 1, (3, "fa", "a"): 5}
    spreads = {(1, "ar", "a"): 0.1, (1, "ar", "b"): 0.4, (2, "en", "a"): 0.3, (3, "fa", "a"): 0.3}
    alloc = allocate(sizes, spreads, 100)
    assert sum(alloc.values()) == 100
    assert all(1 <= alloc[k] <= sizes[k] for k in sizes) and alloc[(3, "fa", "a")] >= 2
    assert alloc[(1, "ar", "b")] > 3 * alloc[(1, "ar", "a")]  # Neyman: four times the spread, about four times the units
    assert allocate(sizes, spreads, 5000) == sizes  # a census when asked for more than there is
    with pytest.raises(AuditError, match="at least 4"):
        allocate(sizes, spreads, 3)


def test_sample_is_seeded_stratified_and_weighted():
    people = population(1)
    first, again, other = draw_sample(people, 300, seed=5), draw_sample(people, 300, seed=5), draw_sample(people, 300, seed=6)
    ids = [d.candidate.message_id for d in first]
    assert ids == [d.candidate.message_id for d in again] and ids != [d.candidate.message_id for d in other]
    assert len(ids) == len(set(ids)) == 300
    strata = {d.stratum: d for d in first}
    assert sum(d.stratum_size for d in strata.values()) == len(people)  # every stratum is represented
    assert sum(d.weight for d in first) == pytest.approx(len(people))  # weights add up to the population
    assert all(d.stratum[2] == band_of(d.candidate.probability, (0.02, 0.05, 0.1)) for d in first)


def test_none_found_still_gives_an_upper_bound():
    """A normal interval collapses to [0, 0] when the sample finds no listing; this one does not."""
    estimate = estimate_missed([StratumTally(1, "ar", "0-0.02", 5000, 100, 100, 0),
                                StratumTally(1, "ar", "0.02-1", 500, 50, 50, 0)])
    assert estimate.missed == 0 and estimate.low == 0
    assert 50 < estimate.high < 300


def test_single_stratum_matches_clopper_pearson():
    estimate = estimate_missed([StratumTally(1, "en", "x", 10**9, 200, 200, 6)])
    ci = binomtest(6, 200).proportion_ci(0.95, method="exact")
    assert estimate.missed == pytest.approx(0.03 * 10**9)
    assert estimate.low / 10**9 == pytest.approx(ci.low, rel=0.02)
    assert estimate.high / 10**9 == pytest.approx(ci.high, rel=0.02)


def test_census_is_exact_and_bounds_respect_what_was_seen():
    estimate = estimate_missed([StratumTally(1, "en", "x", 40, 40, 40, 3), StratumTally(2, "en", "x", 10, 10, 10, 0)])
    assert (estimate.missed, estimate.low, estimate.high) == (3, 3, 3)
    partial = estimate_missed([StratumTally(1, "en", "x", 40, 20, 20, 19)])
    assert partial.low >= 19 and partial.high <= 40 - 1


@pytest.mark.parametrize("planted", [8, 60])
def test_interval_covers_the_planted_count_in_most_worlds(planted):
    """Over 80 seeded worlds, the 95% interval holds the true number of missed listings at least 90% of the time,
    and the point estimate is unbiased within its noise."""
    covered, estimates = 0, []
    for seed in range(80):
        people = population(seed, 2000)
        rng = np.random.default_rng(1000 + seed)
        weights = np.array([c.probability for c in people]) + 0.01  # listings lean to the higher scores
        listings = set(rng.choice(len(people), planted, replace=False, p=weights / weights.sum()).tolist())
        estimate = estimate_missed(tallies(draw_sample(people, 250, seed), listings))
        covered += estimate.low <= planted <= estimate.high
        estimates.append(estimate.missed)
    assert covered / 80 >= 0.9
    assert abs(np.mean(estimates) - planted) < 3 * np.std(estimates) / np.sqrt(80) + 0.5


def test_field_recall_per_domain():
    strata = [StratumTally(1, "ar", "b", 1000, 50, 50, 2), StratumTally(2, "en", "b", 1000, 50, 40, 0),
              StratumTally(3, "fa", "b", 500, 20, 0, 0)]
    flagged = {(1, "ar"): FlaggedTally(30, 30, 24), (2, "en"): FlaggedTally(10, 5, 5)}
    report = field_recall(4, strata, flagged, {1: "Souk", 2: "Market"})
    overall = report.overall
    assert overall.missed.uncovered == 500 and overall.recall is None  # channel 3 has nothing labelled yet
    by_key = {(d.kind, d.key): d for d in report.channels + report.languages}
    souk = by_key[("channel", "1")]
    assert souk.name == "Souk" and souk.missed.missed == pytest.approx(40)
    assert souk.recall == pytest.approx(24 / 64) and souk.recall_low < souk.recall < souk.recall_high
    market = by_key[("language", "en")]
    assert market.flagged.estimated_listings == 10 and market.recall_high == 1.0 and market.recall_low < 1
    assert by_key[("channel", "3")].name == "channel 3" and by_key[("channel", "3")].recall is None
    assert report.to_dict()["overall"]["missed"]["uncovered"] == 500
