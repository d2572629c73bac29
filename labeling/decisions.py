"""Recording decisions: an appended Label, the item's new review state, and an audit event.

A decision may carry the *version* of the item it was made on (`decision_version`: the id of
the latest decision event on the message); when another decision or an undo landed since,
`record_decision` refuses with `StaleDecision` instead of silently overriding it. `undo_decision`
takes back a decision made in the same login session: the Label row goes, and its audit event
plus an `undo_decision` event keep everything it said.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from detector.errors import NotFoundError, PermissionDenied
from detector.schema import AlertedMessage, AuditEvent, CaseMessage, Label, QueueItem, User

from .accounts import may_act_as
from .audit import record_event
from .errors import BadRequest, CannotUndo, StaleDecision
from detector.review import DECISIONS, state_of_labels

TAGS = ("minor", "domestic_worker", "auction", "wanted_to_buy")
TAG_TITLES = {"minor": "Minor", "domestic_worker": "Domestic worker", "auction": "Auction",
              "wanted_to_buy": "Wanted to buy"}
MAX_NOTE = 4000
DECISION_ACTIONS = ("decision", "review", "undo_decision")  # audit actions that change a message's labels


def decision_version(session: Session, message_id: int) -> int:
    """The id of the latest decision (or undo) event on the message; 0 before the first."""
    return session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.object_type == "message", AuditEvent.object_id == str(message_id),
        AuditEvent.action.in_(DECISION_ACTIONS))) or 0


def _latest_other(session: Session, message_id: int, own: int) -> Label | None:
    return session.scalar(select(Label).where(Label.message_id == message_id, Label.id != own)
                          .options(selectinload(Label.user)).order_by(Label.created_at.desc(), Label.id.desc()).limit(1))


def record_decision(session: Session, user: User, message_id: int, role: str, decision: str,
                    tags: Iterable[str] = (), note: str = "", seen_version: int | None = None) -> Label:
    """Append the user's decision on a queued message and update its review state.

    The queue row is locked first (FOR UPDATE on PostgreSQL; SQLite serialises writers),
    so two simultaneous decisions both land and the state reflects both. With `seen_version`
    (the `decision_version` the page showed) a decision or undo recorded since raises
    `StaleDecision` and nothing is stored.
    """
    if decision not in DECISIONS:
        raise BadRequest(f"unknown decision {decision!r}")
    if role not in ("analyst", "reviewer"):
        raise BadRequest(f"unknown role {role!r}")
    if not may_act_as(user, role):
        raise PermissionDenied(f"{user.name} ({user.role}) cannot decide as {role}")
    tags = sorted(set(tags))
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        raise BadRequest(f"unknown tag {unknown[0]!r}")
    if len(note) > MAX_NOTE:
        raise BadRequest(f"the note is longer than {MAX_NOTE} characters")
    item = session.scalar(select(QueueItem).where(QueueItem.message_id == message_id).with_for_update())
    if item is None:
        raise NotFoundError(f"message {message_id} is not in the queue")
    label = Label(message_id=message_id, user_id=user.id, role=role, decision=decision, tags=tags,
                  note=note.strip(), score_id=item.score_id)
    session.add(label)
    session.flush()  # on SQLite this takes the write lock; re-read what others committed before it
    session.refresh(item)
    if seen_version is not None:
        current = decision_version(session, message_id)
        if current != seen_version:
            latest = _latest_other(session, message_id, label.id)
            raise StaleDecision(message_id, current, latest.user.name if latest else None,
                                latest.decision if latest else None)
    before = item.state
    labels = session.scalars(select(Label).where(Label.message_id == message_id)).all()
    item.state = state_of_labels(labels)
    action = "review" if role == "reviewer" else "decision"
    record_event(session, user.name, action, "message", message_id, {"state": before},
                 {"state": item.state, "label_id": label.id, "decision": decision, "tags": tags,
                  "note": label.note, "role": role})
    return label


def label_history(session: Session, message_id: int) -> list[Label]:
    """Every decision on a message, oldest first, with its author loaded."""
    return list(session.scalars(
        select(Label).where(Label.message_id == message_id).options(selectinload(Label.user))
        .order_by(Label.created_at, Label.id)))


def undo_decision(session: Session, user: User, label_id: int) -> Label:
    """Take back the user's decision `label_id` (the caller checks it was made in this login session).

    Refused once the message is in a case or alerted a partner: then a new decision is the way.
    Returns the removed label (detached); the item's state is computed again from the others.
    """
    label = session.get(Label, label_id)
    if label is None or label.user_id != user.id:
        raise CannotUndo("that decision is no longer there to undo")
    item = session.scalar(select(QueueItem).where(QueueItem.message_id == label.message_id).with_for_update())
    referred = session.scalar(select(exists().where(CaseMessage.message_id == label.message_id))) or \
        session.scalar(select(exists().where(AlertedMessage.message_id == label.message_id)))
    if referred:
        raise CannotUndo(f"message {label.message_id} has been referred since; record a new decision instead")
    kept = {"label_id": label.id, "decision": label.decision, "role": label.role, "tags": label.tags,
            "note": label.note, "score_id": label.score_id, "created_at": label.created_at.isoformat()}
    session.delete(label)
    session.flush()
    after: dict[str, object] = {}
    if item is not None:
        before_state = item.state
        labels = session.scalars(select(Label).where(Label.message_id == label.message_id)).all()
        item.state = state_of_labels(labels)
        kept["state"], after["state"] = before_state, item.state
    record_event(session, user.name, "undo_decision", "message", label.message_id, kept, after)
    return label
