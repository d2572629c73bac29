"""Partitions of the unscored messages by id range: one query for the plan, a pure function for the ranges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, exists, func, select

from ..db import session_scope
from ..schema import Message, Score


@dataclass(frozen=True)
class Partition:
    """Messages with `after_id < id < before_id`; `planned` of them were unscored when it was made."""

    after_id: int
    before_id: int
    planned: int


def plan_partitions(starts: list[int], last_id: int, total: int, size: int) -> list[Partition]:
    """Ranges from the first id of every `size` unscored messages (ascending), the last unscored id
    and their count: partition i runs from starts[i] up to (not including) starts[i + 1]."""
    ends = [*starts[1:], last_id + 1]
    return [Partition(start - 1, end, min(size, total - i * size)) for i, (start, end) in enumerate(zip(starts, ends))]


def unscored_partitions(engine: Engine, version: str, size: int) -> list[Partition]:
    """Plan partitions of `size` messages that have no Score of `version` (numbered in the database)."""
    unscored = ~exists().where(Score.message_id == Message.id, Score.model_version == version)
    numbered = select(Message.id, func.row_number().over(order_by=Message.id).label("n")).where(unscored).subquery()
    with session_scope(engine) as session:
        starts = list(session.scalars(select(numbered.c.id).where((numbered.c.n - 1) % size == 0).order_by(numbered.c.id)))
        last_id, total = session.execute(select(func.max(numbered.c.id), func.count())).one()
    return plan_partitions(starts, last_id, total, size) if total else []
