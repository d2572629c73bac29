"""Cases: confirmed and reviewed messages put together for a referral, with a TLP marking."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from detector.errors import ConfigError, DetectorError, NotFoundError
from detector.schema import AuditEvent, Case, CaseMessage, Message
from detector.review import referable_message_ids

TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")  # TLP 2.0, least to most restricted


def check_tlp(level: str) -> str:
    """The TLP 2.0 label in capitals; ConfigError for anything else."""
    upper = level.strip().upper().removeprefix("TLP:")
    if upper not in TLP:
        raise ConfigError(f"unknown TLP marking {level!r}: use one of {', '.join(TLP)}")
    return upper


def strictest(levels: Iterable[str], default: str) -> str:
    """The most restricted of the TLP labels (`default` when there are none)."""
    return max(levels, key=TLP.index, default=default)


class NotReferable(DetectorError):
    """A message that is not confirmed by an analyst and a reviewer may not leave the system."""


def require_referable(session: Session, message_ids: Iterable[int]) -> list[int]:
    """The ids, sorted and unique; NotReferable names every one not confirmed and reviewed."""
    wanted = sorted(set(message_ids))
    if not wanted:
        raise ConfigError("a case needs at least one message")
    known = set(session.scalars(select(Message.id).where(Message.id.in_(wanted))))
    missing = [i for i in wanted if i not in known]
    if missing:
        raise NotFoundError(f"no message with id {', '.join(map(str, missing))}")
    referable = set(referable_message_ids(session))
    refused = [i for i in wanted if i not in referable]
    if refused:
        raise NotReferable(
            f"message {', '.join(map(str, refused))} is not confirmed by an analyst and a reviewer; "
            "only confirmed and reviewed listings can be referred")
    return wanted


def next_ref(session: Session, year: int) -> str:
    """The next case reference of the year, e.g. CASE-2026-0001."""
    prefix = f"CASE-{year}-"
    count = session.scalar(select(func.count()).select_from(Case).where(Case.ref.like(prefix + "%"))) or 0
    return f"{prefix}{count + 1:04d}"


def open_case(session: Session, actor: str, message_ids: Sequence[int], *, tlp: str, summary: str = "",
              cluster_id: int | None = None, entity_ids: Sequence[int] = (), masked: Sequence[str] = (),
              now: datetime | None = None, left_out: Sequence[tuple[int, str]] = ()) -> Case:
    """Open a case of confirmed and reviewed messages (anything else is refused) and audit it, with the
    messages the caller left out and why (`left_out`)."""
    tlp = check_tlp(tlp)
    ids = require_referable(session, message_ids)
    case = Case(tlp=tlp, summary=summary.strip(), cluster_id=cluster_id, entity_ids=list(entity_ids),
                masked=sorted({m.strip() for m in masked if m.strip()}), created_by=actor)
    if now is not None:
        case.created_at = now
    case.ref = next_ref(session, (now or datetime.now()).year)
    session.add(case)
    session.flush()
    session.add_all(CaseMessage(case_id=case.id, message_id=i) for i in ids)
    session.add(AuditEvent(actor=actor, action="case_open", object_type="case", object_id=case.ref,
                           after={"messages": ids, "tlp": tlp, "cluster_id": cluster_id,
                                  "entity_ids": list(entity_ids), "left_out": [list(pair) for pair in left_out]}))
    return case


def get_case(session: Session, ref: str) -> Case:
    """The case by its reference (CASE-2026-0001) or number."""
    query = select(Case).options(selectinload(Case.messages))
    case = session.scalar(query.where(Case.ref == ref.upper()))
    if case is None and ref.isdigit():
        case = session.scalar(query.where(Case.id == int(ref)))
    if case is None:
        raise NotFoundError(f"no case {ref!r}")
    return case


def list_cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).options(selectinload(Case.messages)).order_by(Case.id)))


def set_translation(session: Session, actor: str, case: Case, message_id: int, translation: str) -> None:
    """Record the analyst's translation of one message of the case."""
    entry = next((m for m in case.messages if m.message_id == message_id), None)
    if entry is None:
        raise NotFoundError(f"message {message_id} is not in case {case.ref}")
    before = entry.translation
    entry.translation = translation.strip()
    session.add(AuditEvent(actor=actor, action="case_translate", object_type="case", object_id=case.ref,
                           before={"message_id": message_id, "translation": before},
                           after={"message_id": message_id, "translation": entry.translation}))


def set_tlp(session: Session, actor: str, case: Case, tlp: str) -> None:
    """Change the case's TLP marking (its alerts and reports carry it from now on)."""
    before, case.tlp = case.tlp, check_tlp(tlp)
    session.add(AuditEvent(actor=actor, action="case_tlp", object_type="case", object_id=case.ref,
                           before={"tlp": before}, after={"tlp": case.tlp}))


def add_masks(session: Session, actor: str, case: Case, values: Sequence[str]) -> None:
    """Mark victims' names or family phone numbers to mask in redacted reports."""
    case.masked = sorted(set(case.masked or []) | {v.strip() for v in values if v.strip()})
    session.add(AuditEvent(actor=actor, action="case_mask", object_type="case", object_id=case.ref,
                           after={"masked_count": len(case.masked)}))


def open_case_from(session: Session, actor: str, *, message_ids: Sequence[int] | None = None,
                   cluster_id: int | None = None, entity_id: int | None = None, tlp: str, summary: str = "",
                   masked: Sequence[str] = ()) -> Case:
    """Open a case from messages (all must be referable), or from the referable members of a cluster or entity."""
    if message_ids is not None:
        return open_case(session, actor, message_ids, tlp=tlp, summary=summary, masked=masked)
    members = candidates(session, cluster_id=cluster_id, entity_id=entity_id)
    origin = f"cluster {cluster_id}" if cluster_id is not None else f"entity {entity_id}"
    referable = set(referable_message_ids(session))
    chosen = [i for i in members if i in referable]
    if not chosen:
        raise NotReferable(f"{origin} has no message confirmed by an analyst and a reviewer "
                           f"({len(members)} member(s)); only confirmed and reviewed listings can be referred")
    return open_case(session, actor, chosen, tlp=tlp, summary=summary, masked=masked, cluster_id=cluster_id,
                     entity_ids=[entity_id] if entity_id is not None else ())


def candidates(session: Session, *, message_ids: Sequence[int] = (), cluster_id: int | None = None,
               entity_id: int | None = None) -> list[int]:
    """The messages a case is built from: the ids given, or every member of a cluster or an entity."""
    from .links import cluster_message_ids, entity_message_ids

    if message_ids:
        return sorted(set(message_ids))
    if cluster_id is not None:
        return cluster_message_ids(session, cluster_id)
    if entity_id is not None:
        return entity_message_ids(session, entity_id)
    raise ConfigError("give messages, a cluster or an entity")
