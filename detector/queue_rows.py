"""Queue rows from scores, and putting the whole queue back on one model's scores.

`QueueItem` mirrors, for each flagged message, the score of the model in use. New Score
rows are taken in by the queue's refresh (`labeling/queue.py`, by score id); when the model
in use changes (`detector models promote|rollback`), `restore_queue` points every item at
that model's stored score at once, so the queue never keeps another model's verdicts.
Messages the model never scored keep their item until its new Score arrives (newest wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .db import session_scope
from .review import state_of_labels
from .schema import Label, Message, QueueItem, QueueSync, Score
from .text.display import SIGNAL_TYPES, has_minor

MINOR_BOOST = 0.3
WATCHLIST_PRIORITY = 10.0  # a watchlist match (detector.watchlist) outranks every score and the minor boost
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SCORE_COLUMNS = (Score.id, Score.message_id, Score.probability, Message.signals, Message.language,
                 Message.source_id, Message.sent_at)
UPDATED = ("score_id", "probability", "priority", "uncertainty", "minor", "signal_types", "language", "flagged")


def priority_of(probability: float, minor: bool) -> float:
    """The exact score plus a boost when the signals give a minor's age; recency breaks ties."""
    return probability + (MINOR_BOOST if minor else 0.0)


def item_values(row: Any, critical: bool = False) -> dict[str, Any]:
    """A flagged queue row from a (Score, Message) row selected with `SCORE_COLUMNS`; a `critical`
    one (a watchlist match) comes before every other whatever its score."""
    signals = row.signals or []
    minor = has_minor(signals)
    types = sorted({s.get("type") for s in signals if s.get("type") in SIGNAL_TYPES})
    priority = WATCHLIST_PRIORITY + row.probability if critical else priority_of(row.probability, minor)
    return {
        "message_id": row.message_id, "score_id": row.id, "probability": row.probability,
        "flagged": True, "priority": priority,
        "uncertainty": abs(row.probability - 0.5), "minor": minor,
        "signal_types": "," + "".join(t + "," for t in types), "language": row.language,
        "source_id": row.source_id, "sent_at": row.sent_at or EPOCH, "state": "open",
        "updated_at": datetime.now(timezone.utc),
    }


def dialect_insert(session: Session) -> Any:
    """The INSERT with ON CONFLICT of the session's database."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class QueueRestore:
    """What `restore_queue` did: items now flagged by the model, taken out, and left for rescoring."""

    model_version: str
    queued: int
    unqueued: int
    never_scored: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def restore_queue(engine: Engine, version: str) -> QueueRestore:
    """Point every queue item at model `version`'s stored score (one transaction).

    Its flagged messages are queued (labels and review states kept), items it scored
    below its threshold leave the queue, and the queue's refresh resumes after the newest
    Score, so another model's scores already stored are not taken in again.
    """
    with session_scope(engine) as session:
        flagged = session.execute(select(*SCORE_COLUMNS).join(Message, Message.id == Score.message_id)
                                  .where(Score.model_version == version, Score.flagged.is_(True))).all()
        _queue(session, flagged)
        def mine(column: Any) -> Any:  # the item's message's score by this version
            return (select(column).where(Score.message_id == QueueItem.message_id, Score.model_version == version)
                    .correlate(QueueItem))

        unqueued = cast(CursorResult[Any], session.execute(
            update(QueueItem).where(exists(mine(Score.id).where(Score.flagged.is_(False))))
            .values(flagged=False, score_id=mine(Score.id).scalar_subquery(),
                    probability=mine(Score.probability).scalar_subquery(), updated_at=datetime.now(timezone.utc))
            .execution_options(synchronize_session=False))).rowcount
        never = session.scalar(select(func.count()).select_from(QueueItem).where(~exists(mine(Score.id)))) or 0
        _resume_after_newest(session)
    return QueueRestore(version, len(flagged), int(unqueued or 0), int(never))


def queue_critical(session: Session, rows: list[Any]) -> None:
    """Queue these `SCORE_COLUMNS` rows as critical flagged items (watchlist matches), whatever their score."""
    _queue(session, rows, critical=True)


def _queue(session: Session, rows: Sequence[Any], critical: bool = False) -> None:
    """Upsert the rows as flagged items; new items take their review state from existing labels."""
    if not rows:
        return
    insert = dialect_insert(session)
    stmt = insert(QueueItem)
    upsert = stmt.on_conflict_do_update(index_elements=["message_id"], set_={k: stmt.excluded[k] for k in UPDATED})
    ids = [row.message_id for row in rows]
    labels: dict[int, list[Label]] = {}
    for start in range(0, len(ids), 500):
        for label in session.scalars(select(Label).where(Label.message_id.in_(ids[start:start + 500]))):
            labels.setdefault(label.message_id, []).append(label)
    values = [item_values(row, critical) | ({"state": state_of_labels(labels[row.message_id])} if row.message_id in labels else {})
              for row in rows]
    session.execute(upsert, values)


def _resume_after_newest(session: Session) -> None:
    newest = session.scalar(select(func.max(Score.id))) or 0
    insert = dialect_insert(session)
    stmt = insert(QueueSync).values(name="scores", last_score_id=newest)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"last_score_id": newest}))
