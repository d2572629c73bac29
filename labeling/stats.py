"""Agreement statistics: counts per state and per analyst, Cohen's kappa per analyst pair."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detector.schema import Label, QueueItem, User


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when undefined (no items).

    kappa = (p_o - p_e) / (1 - p_e); when p_e == 1 (both raters used one category
    throughout) agreement is perfect and kappa is 1.
    """
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    if expected == 1:
        return 1.0
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    items: int
    agreement: float
    kappa: float | None


def analyst_decisions(session: Session) -> dict[str, dict[int, str]]:
    """Each analyst's latest non-skip decision per message: {analyst name: {message id: decision}}."""
    rows = session.execute(
        select(User.name, Label.message_id, Label.decision)
        .join(User, User.id == Label.user_id)
        .where(Label.role == "analyst", Label.decision != "skip")
        .order_by(Label.created_at, Label.id)
    )
    decisions: dict[str, dict[int, str]] = {}
    for name, message_id, decision in rows:
        decisions.setdefault(name, {})[message_id] = decision
    return decisions


def pair_agreements(decisions: dict[str, dict[int, str]]) -> list[PairAgreement]:
    """Agreement and kappa for every pair of analysts who labelled at least one same item."""
    result = []
    for first, second in combinations(sorted(decisions), 2):
        shared = sorted(set(decisions[first]) & set(decisions[second]))
        if not shared:
            continue
        pairs = [(decisions[first][m], decisions[second][m]) for m in shared]
        agreement = sum(1 for a, b in pairs if a == b) / len(pairs)
        result.append(PairAgreement(first, second, len(pairs), agreement, cohen_kappa(pairs)))
    return result


def state_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(QueueItem.state, func.count()).where(QueueItem.flagged.is_(True)).group_by(QueueItem.state)
    )
    return {state: count for state, count in rows}


def per_user_counts(session: Session) -> dict[str, Counter[str]]:
    """How many decisions of each kind every person made (all rows, including changes of mind)."""
    rows = session.execute(
        select(User.name, Label.decision, func.count())
        .join(User, User.id == Label.user_id)
        .group_by(User.name, Label.decision)
    )
    counts: dict[str, Counter[str]] = {}
    for name, decision, count in rows:
        counts.setdefault(name, Counter())[decision] = count
    return counts
