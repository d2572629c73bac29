"""Recording decisions: an appended Label, the item's new review state, and an audit event."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from detector.errors import NotFoundError, PermissionDenied
from detector.schema import Label, QueueItem, User

from .accounts import may_act_as
from .audit import record_event
from .errors import BadRequest
from detector.review import DECISIONS, state_of_labels

TAGS = ("minor", "domestic_worker", "auction", "wanted_to_buy")
TAG_TITLES = {"minor": "Minor", "domestic_worker": "Domestic worker", "auction": "Auction",
              "wanted_to_buy": "Wanted to buy"}
MAX_NOTE = 4000


def record_decision(session: Session, user: User, message_id: int, role: str, decision: str,
                    tags: Iterable[str] = (), note: str = "") -> Label:
    """Append the user's decision on a queued message and update its review state.

    The queue row is locked first (FOR UPDATE on PostgreSQL; SQLite serialises writers),
    so two simultaneous decisions both land and the state reflects both.
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
