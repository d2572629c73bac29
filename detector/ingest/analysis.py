"""After loading: language and signals for messages not analysed yet, in batches.

Kept apart from loading so ingest speed does not depend on text analysis; a
message counts as analysed once its `language` is set (an edit clears it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, func, select, update

from ..gc_pause import cyclic_gc_paused
from ..schema import Message
from ..search.index import write_bodies
from ..search.terms import index_body

BATCH_SIZE = 1000
message_t = cast(Table, Message.__table__)


def count_pending(engine: Engine) -> int:
    """How many messages still wait for text analysis."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(message_t.c.language.is_(None))).scalar_one()


def analyse_pending(engine: Engine, *, batch_size: int = BATCH_SIZE, progress: Callable[[int], None] | None = None) -> int:
    """Fill language, language_confidence and signals for every message lacking them, and
    (re)write its search words; returns the count."""
    from ..text import analyse

    done = 0
    last_id = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(message_t.c.id, message_t.c.text)
                .where(message_t.c.language.is_(None), message_t.c.id > last_id)
                .order_by(message_t.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return done
            with cyclic_gc_paused():
                results = [(row.id, analyse(row.text)) for row in rows]
                values = [_analysed(mid, result) for mid, result in results]
            conn.execute(
                update(message_t)
                .where(message_t.c.id == bindparam("mid"))
                .values(
                    language=bindparam("language"),
                    language_confidence=bindparam("language_confidence"),
                    signals=bindparam("signals"),
                ),
                values,
            )
            write_bodies(conn, [(v["mid"], index_body(r.normalised.text, v["signals"])) for v, (_, r) in zip(values, results)])
        last_id = rows[-1].id
        done += len(rows)
        if progress is not None:
            progress(len(rows))


def _analysed(message_id: int, result: Any) -> dict[str, Any]:
    """The update row of one message from its `detector.text.Analysis`."""
    return {
        "mid": message_id,
        "language": result.language.code,
        "language_confidence": float(result.language.confidence),
        "signals": [s.to_dict() for s in result.signals],
    }
