"""The review workflow: the state of an item from its labels, and which items may be referred.

A 'listing' decision needs a second person, at least one of them a reviewer, before the
item is `confirmed` (referable). Firm decisions that contradict each other make the item
`disputed`; disputed, unsure and awaiting items form the reviewer queue. Each person's
latest decision counts (labels are append-only, so changing one's mind appends a row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.schema import Label

DECISIONS = ("listing", "not_listing", "unsure", "skip")
FIRM = ("listing", "not_listing")
STATES = ("open", "awaiting_review", "disputed", "unsure", "not_listing", "confirmed")
REVIEW_STATES = ("awaiting_review", "disputed", "unsure")
STATE_TITLES = {
    "open": "Not yet decided",
    "awaiting_review": "Awaiting review",
    "disputed": "Disputed",
    "unsure": "Unsure",
    "not_listing": "Not a listing",
    "confirmed": "Confirmed listing",
}


def deciding_labels(labels: Iterable[Label]) -> list[Label]:
    """The labels that count: each user's latest non-skip decision (earlier ones and skips do not)."""
    latest: dict[int, Label] = {}
    for label in sorted(labels, key=lambda lab: (lab.created_at, lab.id)):
        if label.decision != "skip":
            latest[label.user_id] = label
    return list(latest.values())


def latest_decisions(labels: Iterable[Label]) -> tuple[list[str], list[str]]:
    """Each user's latest non-skip decision, split into (analyst, reviewer) decisions."""
    latest = deciding_labels(labels)
    analysts = [lab.decision for lab in latest if lab.role == "analyst"]
    reviewers = [lab.decision for lab in latest if lab.role == "reviewer"]
    return analysts, reviewers


def review_state(analyst: Sequence[str], reviewer: Sequence[str]) -> str:
    """The item's state from each person's latest decision (see the module docstring)."""
    firm_reviewers = [d for d in reviewer if d in FIRM]
    firm_analysts = [d for d in analyst if d in FIRM]
    if firm_reviewers:
        if len(set(firm_reviewers)) > 1:
            return "disputed"
        verdict = firm_reviewers[0]
        contradicted = any(d != verdict for d in firm_analysts)
        if contradicted and len(firm_reviewers) < 2:
            return "disputed"
        agreeing = len(firm_reviewers) + firm_analysts.count(verdict)
        if verdict == "not_listing":
            return "not_listing"
        return "confirmed" if agreeing >= 2 else "awaiting_review"
    if len(set(firm_analysts)) > 1:
        return "disputed"
    if firm_analysts:
        return "awaiting_review" if firm_analysts[0] == "listing" else "not_listing"
    if analyst or reviewer:
        return "unsure"
    return "open"


def state_of_labels(labels: Iterable[Label]) -> str:
    return review_state(*latest_decisions(labels))


def referable_message_ids(session: Session) -> list[int]:
    """Ids of messages confirmed as listings by an analyst and a reviewer (or two reviewers)."""
    candidates = select(Label.message_id).where(Label.decision == "listing", Label.role == "reviewer")
    rows = session.scalars(select(Label).where(Label.message_id.in_(candidates))).all()
    by_message: dict[int, list[Label]] = {}
    for label in rows:
        by_message.setdefault(label.message_id, []).append(label)
    return sorted(mid for mid, labels in by_message.items() if state_of_labels(labels) == "confirmed")
