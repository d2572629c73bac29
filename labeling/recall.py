"""The recall audit in the queue: the Audit list's counts and the statistics page's field recall."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detector.audit.estimate import RecallReport
from detector.audit.store import audit_report, latest_round
from detector.schema import AuditSample, QueueItem


def audit_state_counts(session: Session) -> dict[str, int]:
    """Audit items (sampled unflagged messages, every round) per review state."""
    rows = session.execute(select(QueueItem.state, func.count())
                           .where(QueueItem.message_id.in_(select(AuditSample.message_id))).group_by(QueueItem.state))
    return {state: count for state, count in rows}


def latest_recall(session: Session) -> RecallReport | None:
    """The latest audit round's field-recall estimates, or None before the first sample."""
    return audit_report(session) if latest_round(session) is not None else None
