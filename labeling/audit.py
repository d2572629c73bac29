"""Append-only audit events for every action taken in the queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from detector.schema import AuditEvent


def record_event(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event (who, what, on which object, the state before and after)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
    )
    session.add(event)
    return event
