"""A watchlist match makes its message a critical flagged queue item, whatever its score.

The item takes the message's newest Score (the queue's refresh only replaces an item by a newer
Score); a message not scored yet is queued by the first `escalate` after its score arrives
(every linking run calls it).
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..queue_rows import SCORE_COLUMNS, WATCHLIST_PRIORITY, queue_critical
from ..schema import Message, QueueItem, Score, WatchlistMatch


def escalate(session: Session) -> int:
    """Queue every matched message not yet critical on its newest score; returns how many changed."""
    newest = (select(func.max(Score.id).label("score_id"))
              .where(Score.message_id.in_(select(WatchlistMatch.message_id)))
              .group_by(Score.message_id).subquery())
    rows = session.execute(
        select(*SCORE_COLUMNS).join(Message, Message.id == Score.message_id)
        .join(newest, newest.c.score_id == Score.id)
        .outerjoin(QueueItem, QueueItem.message_id == Score.message_id)
        .where(or_(QueueItem.message_id.is_(None),
                   ~and_(QueueItem.score_id == Score.id, QueueItem.flagged.is_(True),
                         QueueItem.priority >= WATCHLIST_PRIORITY)))).all()
    queue_critical(session, list(rows))
    return len(rows)
