"""The `active` queue order: uncertain items first, spread over distinct styles.

The most uncertain open items (by the queue's `uncertainty` column) are re-ranked by
`detector.classify.active_learning.select_batch` around the flag threshold of the model that
scored each item (from its card; 0.5 when that model folder is gone), which also pushes back items that
look like messages labelled recently, so researchers labelling to improve the model
spend each label on something the model has not yet been taught.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.classify.active_learning import select_batch
from detector.classify.registry import thresholds_by_version
from detector.config import Settings
from detector.schema import Label, Message, QueueItem, Score

WINDOW = 200  # uncertain items considered for re-ranking
RECENT_LABELS = 200  # recently labelled messages that items should differ from
UNKNOWN_THRESHOLD = 0.5  # for scores of a model whose folder is gone: nothing better is known


def active_order(session: Session, message_ids: Sequence[int]) -> list[int]:
    """`message_ids` (queue items) re-ranked by uncertainty and diversity."""
    if len(message_ids) < 2:
        return list(message_ids)
    rows = {m: (p, t, v) for m, p, t, v in session.execute(
        select(QueueItem.message_id, QueueItem.probability, Message.text, Score.model_version)
        .join(Message, Message.id == QueueItem.message_id).join(Score, Score.id == QueueItem.score_id)
        .where(QueueItem.message_id.in_(list(message_ids))))}
    thresholds = thresholds_by_version(Settings.from_env().models_dir)
    ids = [m for m in message_ids if m in rows]
    recent = session.scalars(select(Message.text).join(Label, Label.message_id == Message.id)
                             .order_by(Label.id.desc()).limit(RECENT_LABELS)).all()
    order = select_batch([rows[m][0] for m in ids], [rows[m][1] or "" for m in ids], len(ids),
                         threshold=[thresholds.get(rows[m][2], UNKNOWN_THRESHOLD) for m in ids],
                         labelled_texts=list(recent), pool_factor=1)
    return [ids[i] for i in order]
