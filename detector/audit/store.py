"""The database side of recall audits: the unflagged population, storing a round, reading it back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import NotFoundError
from ..queue_rows import SCORE_COLUMNS, dialect_insert, item_values
from ..review import state_of_labels
from ..schema import AuditEvent, AuditSample, Label, Message, QueueItem, Score, Source
from .estimate import FlaggedTally, RecallReport, StratumTally, field_recall
from .sample import Candidate, draw_sample

UNKNOWN_LANGUAGE = "und"
LISTING_STATES = ("confirmed", "awaiting_review")  # an analyst or reviewer judged it a listing
NOT_LISTING_STATES = ("not_listing",)


@dataclass(frozen=True)
class SampleSummary:
    """What `detector audit sample` stored."""

    round: int
    seed: int
    population: int
    strata: int
    sampled: int

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


def _latest_scores(model_version: str | None = None) -> Any:
    """Each scored message's newest score (of one model version, when given):
    (score id, message id, probability, channel, language)."""
    scores = select(func.max(Score.id).label("score_id")).group_by(Score.message_id)
    latest = (scores.where(Score.model_version == model_version) if model_version else scores).subquery()
    return select(Score.id, Score.message_id, Score.probability, Message.source_id, Message.language) \
        .join(latest, latest.c.score_id == Score.id).join(Message, Message.id == Score.message_id)


def unflagged_candidates(session: Session, model_version: str | None = None) -> list[Candidate]:
    """Every message whose latest score (of `model_version`, when given) is not flagged."""
    rows = session.execute(_latest_scores(model_version).where(Score.flagged.is_(False)))
    return [Candidate(message_id, score_id, source_id, language or UNKNOWN_LANGUAGE, probability)
            for score_id, message_id, probability, source_id, language in rows]


def outcomes(session: Session, message_ids: Sequence[int]) -> dict[int, bool]:
    """True (listing) or False (not a listing) for each message with a firm review state; the others
    (undecided, unsure, disputed) are left out."""
    states = _states(session, message_ids)
    return {mid: state in LISTING_STATES for mid, state in states.items() if state in LISTING_STATES + NOT_LISTING_STATES}


def take_sample(engine: Engine, n: int, seed: int, edges: Sequence[float], actor: str,
                model_version: str | None = None) -> SampleSummary:
    """Draw a round of the audit and store it (with an audit event) in one transaction."""
    with session_scope(engine) as session:
        candidates = unflagged_candidates(session, model_version)
        draws = draw_sample(candidates, n, seed, edges)
        round_ = (session.scalar(select(func.max(AuditSample.round))) or 0) + 1
        session.add_all(AuditSample(
            round=round_, message_id=d.candidate.message_id, score_id=d.candidate.score_id, source_id=d.stratum[0],
            language=d.stratum[1], band=d.stratum[2], stratum_size=d.stratum_size,
            stratum_sampled=d.stratum_sampled, weight=d.weight, seed=seed, created_by=actor) for d in draws)
        _queue_sampled(session, [d.candidate.score_id for d in draws])
        summary = SampleSummary(round_, seed, len(candidates), len({d.stratum for d in draws}), len(draws))
        session.add(AuditEvent(actor=actor, action="audit_sample", object_type="audit_round", object_id=str(round_),
                               after={**summary.to_dict(), "n": n, "edges": list(edges), "model_version": model_version}))
    return summary


def _queue_sampled(session: Session, score_ids: list[int]) -> None:
    """Put sampled messages in the queue as unflagged items (the queue's Audit list shows them),
    their review state taken from any labels they have; items already there are left alone."""
    stmt = dialect_insert(session)(QueueItem).on_conflict_do_nothing(index_elements=["message_id"])
    for start in range(0, len(score_ids), 1000):
        rows = session.execute(select(*SCORE_COLUMNS).join(Message, Message.id == Score.message_id)
                               .where(Score.id.in_(score_ids[start:start + 1000]))).all()
        states = _states(session, [row.message_id for row in rows])
        session.execute(stmt, [item_values(row) | {"flagged": False, "state": states.get(row.message_id, "open")}
                               for row in rows])


def _states(session: Session, message_ids: Sequence[int]) -> dict[int, str]:
    """The review state of each message with labels."""
    labels: dict[int, list[Label]] = defaultdict(list)
    for start in range(0, len(message_ids), 1000):
        for label in session.scalars(select(Label).where(Label.message_id.in_(message_ids[start:start + 1000]))):
            labels[label.message_id].append(label)
    return {mid: state_of_labels(found) for mid, found in labels.items()}


def stratum_tallies(session: Session, round_: int) -> list[StratumTally]:
    """Each stratum of a round with its labelled items and listings found so far."""
    rows = session.scalars(select(AuditSample).where(AuditSample.round == round_)).all()
    decided = outcomes(session, [r.message_id for r in rows])
    groups: dict[tuple[int, str, str], list[AuditSample]] = defaultdict(list)
    for r in rows:
        groups[(r.source_id, r.language, r.band)].append(r)
    return [StratumTally(source, language, band, group[0].stratum_size, group[0].stratum_sampled,
                         sum(1 for r in group if r.message_id in decided),
                         sum(1 for r in group if decided.get(r.message_id)))
            for (source, language, band), group in sorted(groups.items())]


def flagged_tallies(session: Session, model_version: str | None = None) -> dict[tuple[int, str], FlaggedTally]:
    """Messages whose latest score (of `model_version`, when given) is flagged, per (channel, language):
    counted, decided, listings."""
    flagged = _latest_scores(model_version).where(Score.flagged.is_(True))
    cells: dict[int, tuple[int, str]] = {
        message_id: (source_id, language or UNKNOWN_LANGUAGE) for _, message_id, _, source_id, language in session.execute(flagged)}
    decided = outcomes(session, sorted(cells))
    tallies: dict[tuple[int, str], FlaggedTally] = defaultdict(FlaggedTally)
    for mid, cell in cells.items():
        outcome = decided.get(mid)
        tallies[cell] += FlaggedTally(1, int(outcome is not None), int(bool(outcome)))
    return dict(tallies)


def latest_round(session: Session) -> int | None:
    return session.scalar(select(func.max(AuditSample.round)))


def audit_report(session: Session, round_: int | None = None, confidence: float = 0.95) -> RecallReport:
    """Field recall of an audit round (the latest by default); NotFoundError when there is none."""
    round_ = latest_round(session) if round_ is None else round_
    strata = stratum_tallies(session, round_) if round_ is not None else []
    if round_ is None or not strata:  # no round means no strata
        raise NotFoundError("no recall audit sample yet: run `detector audit sample` first"
                            if round_ is None else f"there is no audit round {round_}")
    names = {sid: name or chat for sid, name, chat in session.execute(select(Source.id, Source.name, Source.chat_id))}
    versions = session.scalars(select(Score.model_version).join(AuditSample, AuditSample.score_id == Score.id)
                               .where(AuditSample.round == round_).distinct()).all()
    flagged = flagged_tallies(session, versions[0] if len(versions) == 1 else None)  # the sampled model's flags
    return field_recall(round_, strata, flagged, names, confidence)
