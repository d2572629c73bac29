"""Scoring the database: every message without a Score for the current model version gets one.

Rescoring with another model version appends Score rows, so history is kept. A message
analysed at ingest is scored on its stored language and signals (the ones analysts see), so
only its normalisation is redone; language and signals are stored on the Message when it has
none yet. Safe to run while the scraper ingests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, exists, func, select
from sqlalchemy.exc import IntegrityError

from ..config import Settings
from ..db import session_scope
from ..schema import Message, Score
from ..text import Analysis, Language, Signal, normalise
from .features import MAX_CHARS
from .model import Model
from .registry import load_model, resolve_model_path


@dataclass
class ScoreSummary:
    model_version: str
    scored: int = 0
    flagged: int = 0
    already_scored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unscored(version: str) -> Any:
    return ~exists().where(Score.message_id == Message.id, Score.model_version == version)


def count_unscored(engine: Engine, version: str) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count(Message.id)).where(_unscored(version))) or 0)


def score_unscored(
    engine: Engine,
    settings: Settings | None = None,
    *,
    model: Model | None = None,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
    after_id: int = 0,
    before_id: int | None = None,
) -> ScoreSummary:
    """Score messages that have no Score for the model's version, in batches; one transaction each.
    `after_id < id < before_id` limits it to one id range (a partition of `detector.scale`)."""
    settings = settings or Settings.from_env()
    model = model or load_model(resolve_model_path(settings.model_name, settings))
    summary = ScoreSummary(model.version)
    last_id = after_id
    while True:
        with session_scope(engine) as session:
            query = select(Message).where(Message.id > last_id, _unscored(model.version))
            if before_id is not None:
                query = query.where(Message.id < before_id)
            messages = session.scalars(query.order_by(Message.id).limit(batch_size)).all()
            if not messages:
                return summary
            last_id = messages[-1].id
            try:
                with session.begin_nested():
                    _score_batch(session, model, messages, summary)
            except IntegrityError:  # another process scored some of them meanwhile
                summary.already_scored += _score_remaining(session, model, messages, summary)
        if progress:
            progress(len(messages))


def stored_analysis(message: Message) -> Analysis | str:
    """The message's stored language and signals on a fresh normalisation of its text, or its
    text when it has not been analysed (or is longer than the classifier reads)."""
    text = message.text or ""
    if message.language is None or message.signals is None or len(text) > MAX_CHARS:
        return text
    language = Language(message.language, message.language_confidence or 0.0)
    return Analysis(normalise(text), language, [Signal(**signal) for signal in message.signals])


def thread_contexts(session: Any, messages: Sequence[Message]) -> list[list[str]]:
    """Per message: the text of the message it replies to in the same source ([] if none); one query."""
    wanted = {(m.source_id, m.reply_to) for m in messages if m.reply_to}
    parents: dict[tuple[int, str | None], str] = {}
    if wanted:
        rows = session.execute(select(Message.source_id, Message.external_id, Message.text).where(
            Message.source_id.in_({s for s, _ in wanted}), Message.external_id.in_({e for _, e in wanted})))
        parents = {(s, e): t or "" for s, e, t in rows if (s, e) in wanted}
    return [[parents[(m.source_id, m.reply_to)]] if (m.source_id, m.reply_to) in parents else [] for m in messages]


def _score_batch(session: Any, model: Model, messages: Sequence[Message], summary: ScoreSummary) -> None:
    predictions = model.predict([stored_analysis(m) for m in messages], contexts=thread_contexts(session, messages))
    for message, prediction in zip(messages, predictions):
        session.add(Score(message_id=message.id, model_version=model.version,
                          probability=prediction.probability, flagged=prediction.flagged,
                          tier=prediction.tier, reasons=prediction.reasons))
        if message.language is None:
            message.language = prediction.language
            message.language_confidence = prediction.language_confidence
        if message.signals is None:
            message.signals = prediction.signals
    session.flush()
    summary.scored += len(predictions)
    summary.flagged += sum(p.flagged for p in predictions)


def _score_remaining(session: Any, model: Model, messages: Sequence[Message], summary: ScoreSummary) -> int:
    """After a conflict: score only the messages still unscored; returns how many were done elsewhere."""
    ids = [m.id for m in messages]
    done = set(session.scalars(select(Score.message_id).where(
        Score.message_id.in_(ids), Score.model_version == model.version)))
    remaining = [m for m in messages if m.id not in done]
    if remaining:
        _score_batch(session, model, remaining, summary)
    return len(done)
