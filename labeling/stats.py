"""Agreement statistics: counts per state and per person (final decisions and changes of mind apart),
Cohen's kappa per analyst pair, analysts against reviewers and per language, and who said what on an item.

A person's decision on a message is their latest non-skip label (`detector.review.deciding_labels`),
else their skip; every earlier label of theirs on it is a change of mind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detector.review import deciding_labels
from detector.schema import Label, Message, QueueItem, User


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


@dataclass(frozen=True)
class LabelRow:
    """One label as the statistics read it (rows come oldest first)."""

    message_id: int
    name: str
    role: str
    decision: str
    language: str | None = None


@dataclass
class PersonCounts:
    """A person's final decisions by kind (one per message) and how many they changed later."""

    final: Counter[str] = field(default_factory=Counter)
    changes: int = 0

    @property
    def items(self) -> int:
        return sum(self.final.values())


@dataclass(frozen=True)
class Agreement:
    """Decisions compared in pairs: how many pairs, the share that agree, Cohen's kappa."""

    items: int
    agreement: float
    kappa: float | None


@dataclass(frozen=True)
class LanguageAgreement:
    language: str
    analysts: Agreement | None  # every two analysts on the same item
    reviewers: Agreement | None  # each analyst against each reviewer on the same item


def label_rows(session: Session) -> list[LabelRow]:
    """Every label, oldest first, with its author's name and its message's language."""
    rows = session.execute(
        select(Label.message_id, User.name, Label.role, Label.decision, Message.language)
        .join(User, User.id == Label.user_id).join(Message, Message.id == Label.message_id)
        .order_by(Label.created_at, Label.id))
    return [LabelRow(*row) for row in rows]


def final_decisions(rows: Iterable[LabelRow]) -> list[LabelRow]:
    """Each person's decision per message: their latest non-skip label, else their latest skip."""
    final: dict[tuple[str, int], LabelRow] = {}
    for row in rows:
        key = (row.name, row.message_id)
        if row.decision != "skip" or key not in final or final[key].decision == "skip":
            final[key] = row
    return list(final.values())


def per_person(rows: Sequence[LabelRow]) -> dict[str, PersonCounts]:
    """Final decisions by kind and changes of mind (labels later replaced by the same person's) per person."""
    counts: dict[str, PersonCounts] = {}
    for row in final_decisions(rows):
        counts.setdefault(row.name, PersonCounts()).final[row.decision] += 1
    for name, labels in Counter(row.name for row in rows).items():
        counts[name].changes = labels - counts[name].items
    return counts


def analyst_decisions(rows: Iterable[LabelRow]) -> dict[str, dict[int, str]]:
    """Each analyst's non-skip decision per message: {analyst name: {message id: decision}}."""
    decisions: dict[str, dict[int, str]] = {}
    for row in final_decisions(rows):
        if row.role == "analyst" and row.decision != "skip":
            decisions.setdefault(row.name, {})[row.message_id] = row.decision
    return decisions


def agreement_of(pairs: Sequence[tuple[str, str]]) -> Agreement | None:
    """Share of agreeing pairs and kappa; None without pairs."""
    if not pairs:
        return None
    return Agreement(len(pairs), sum(1 for a, b in pairs if a == b) / len(pairs), cohen_kappa(pairs))


def _by_message(finals: Iterable[LabelRow]) -> dict[int, list[LabelRow]]:
    grouped: dict[int, list[LabelRow]] = {}
    for row in sorted(finals, key=lambda r: r.name):
        if row.decision != "skip":
            grouped.setdefault(row.message_id, []).append(row)
    return grouped


def analyst_pairs(finals: Iterable[LabelRow]) -> list[tuple[str, str]]:
    """The decisions of every two analysts on the same message."""
    return [(a.decision, b.decision) for rows in _by_message(finals).values()
            for a, b in combinations([r for r in rows if r.role == "analyst"], 2)]


def reviewer_pairs(finals: Iterable[LabelRow]) -> list[tuple[str, str]]:
    """(analyst's decision, reviewer's decision) for each analyst and reviewer on the same message."""
    return [(a.decision, r.decision) for rows in _by_message(finals).values()
            for a in rows if a.role == "analyst" for r in rows if r.role == "reviewer"]


def reviewer_agreements(finals: Sequence[LabelRow]) -> list[PairAgreement]:
    """Each analyst against the reviewers (all of them pooled), by analyst name."""
    grouped = _by_message(finals)
    result = []
    for name in sorted({row.name for row in finals if row.role == "analyst"}):
        pairs = [(a.decision, r.decision) for rows in grouped.values()
                 for a in rows if a.name == name and a.role == "analyst" for r in rows if r.role == "reviewer"]
        if (found := agreement_of(pairs)) is not None:
            result.append(PairAgreement(name, "reviewers", found.items, found.agreement, found.kappa))
    return result


def language_agreements(finals: Sequence[LabelRow]) -> list[LanguageAgreement]:
    """Analyst pairs and analysts against reviewers, per message language ("und" when unknown)."""
    languages: dict[str, list[LabelRow]] = {}
    for row in finals:
        languages.setdefault(row.language or "und", []).append(row)
    result = [LanguageAgreement(code, agreement_of(analyst_pairs(rows)), agreement_of(reviewer_pairs(rows)))
              for code, rows in sorted(languages.items())]
    return [a for a in result if a.analysts or a.reviewers]


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


@dataclass(frozen=True)
class Said:
    """Who decided what on an item (their decision that counts)."""

    name: str
    role: str
    decision: str


def who_said(session: Session, message_ids: Sequence[int]) -> dict[int, list[Said]]:
    """For each message, every person's decision that counts, by name."""
    if not message_ids:
        return {}
    labels = session.scalars(select(Label).where(Label.message_id.in_(message_ids))).all()
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_({lab.user_id for lab in labels}))).all())
    grouped: dict[int, list[Label]] = {}
    for label in labels:
        grouped.setdefault(label.message_id, []).append(label)
    return {mid: sorted((Said(names[lab.user_id], lab.role, lab.decision) for lab in deciding_labels(labs)),
                        key=lambda said: said.name) for mid, labs in grouped.items()}
