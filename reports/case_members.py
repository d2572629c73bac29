"""Building a case up: which messages a change takes, which it leaves out and why; adding and removing
messages and masks. Every change is an AuditEvent that keeps what was left out and why.

Only `detector.review.referable_message_ids` messages (confirmed by two people) ever join a case.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.errors import DetectorError
from detector.review import referable_message_ids
from detector.schema import AuditEvent, Case, CaseMessage, Message

from .cases import NotReferable, open_case

# Why a message was left out, read after "message 12 is ..."
UNKNOWN = "not a stored message"
UNCONFIRMED = "not confirmed by an analyst and a reviewer"  # two people: detector.review's rule
PRESENT = "already in the case"
ABSENT = "not in the case"
LAST = "the case's last message (a case keeps at least one)"
CHANGE_ACTIONS = ("case_open", "case_add", "case_remove")


class NothingChanged(DetectorError):
    """A change to a case that would take no message in or out (the error names each one and why)."""


@dataclass(frozen=True)
class Selection:
    """The messages a change takes, and every other one asked for with why it was left out."""

    taken: list[int]
    left_out: list[tuple[int, str]]

    def describe(self) -> str:
        """One line naming each message left out and why."""
        return "; ".join(f"message {i} is {why}" for i, why in self.left_out)


def sort_out(wanted: Iterable[int], *, known: Collection[int], referable: Collection[int],
             present: Collection[int] = ()) -> Selection:
    """Which of `wanted` may join a case holding `present`: known, referable and not there yet (pure)."""
    taken: list[int] = []
    left_out: list[tuple[int, str]] = []
    for i in sorted(set(wanted)):
        why = UNKNOWN if i not in known else PRESENT if i in present else UNCONFIRMED if i not in referable else None
        if why is None:
            taken.append(i)
        else:
            left_out.append((i, why))
    return Selection(taken, left_out)


def select_messages(session: Session, wanted: Sequence[int], present: Collection[int] = ()) -> Selection:
    """`sort_out` against the database: which messages exist and which two people confirmed."""
    known = set(session.scalars(select(Message.id).where(Message.id.in_(set(wanted))))) if wanted else set()
    return sort_out(wanted, known=known, referable=set(referable_message_ids(session)), present=present)


def _nothing_taken(selection: Selection, what: str, error: type[DetectorError] = NotReferable) -> None:
    if not selection.taken:
        raise error(f"{what}: {selection.describe() or 'no messages given'}")


def open_selected(session: Session, actor: str, wanted: Sequence[int], *, tlp: str, summary: str = "",
                  cluster_id: int | None = None, entity_id: int | None = None) -> tuple[Case, Selection]:
    """Open a case of the referable messages among `wanted`; the others are left out, each with why
    (NotReferable naming each when none is referable)."""
    selection = select_messages(session, wanted)
    _nothing_taken(selection, "no case opened")
    case = open_case(session, actor, selection.taken, tlp=tlp, summary=summary, cluster_id=cluster_id,
                     entity_ids=[entity_id] if entity_id is not None else (), left_out=selection.left_out)
    return case, selection


def add_messages(session: Session, actor: str, case: Case, wanted: Sequence[int]) -> Selection:
    """Add the referable messages among `wanted` that are not in the case yet; audited with what was left out."""
    selection = select_messages(session, wanted, {m.message_id for m in case.messages})
    _nothing_taken(selection, f"nothing added to {case.ref}", NothingChanged)
    case.messages.extend(CaseMessage(case_id=case.id, message_id=i) for i in selection.taken)
    session.add(AuditEvent(actor=actor, action="case_add", object_type="case", object_id=case.ref,
                           after={"messages": selection.taken, "left_out": [list(p) for p in selection.left_out]}))
    return selection


def remove_messages(session: Session, actor: str, case: Case, wanted: Sequence[int]) -> Selection:
    """Take messages out of the case (their translations are kept in the audit event); a case keeps one."""
    present = {m.message_id for m in case.messages}
    taken = [i for i in sorted(set(wanted)) if i in present]
    left_out = [(i, ABSENT) for i in sorted(set(wanted)) if i not in present]
    if taken and len(taken) == len(present):
        left_out.append((taken.pop(), LAST))
    selection = Selection(taken, sorted(left_out))
    _nothing_taken(selection, f"nothing removed from {case.ref}", NothingChanged)
    gone = [m for m in case.messages if m.message_id in taken]
    for entry in gone:
        case.messages.remove(entry)
        session.delete(entry)
    session.add(AuditEvent(actor=actor, action="case_remove", object_type="case", object_id=case.ref,
                           before={"messages": taken,
                                   "translations": {str(m.message_id): m.translation for m in gone if m.translation}},
                           after={"left_out": [list(p) for p in selection.left_out]}))
    return selection


def remove_masks(session: Session, actor: str, case: Case, values: Sequence[str]) -> None:
    """Stop masking these values in the case's redacted reports and alerts."""
    dropped = {v.strip() for v in values}
    case.masked = [m for m in case.masked or [] if m not in dropped]
    session.add(AuditEvent(actor=actor, action="case_unmask", object_type="case", object_id=case.ref,
                           after={"masked_count": len(case.masked)}))


def case_changes(session: Session, case: Case) -> list[AuditEvent]:
    """How the case was built: its opening and every message added or removed, oldest first."""
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "case", AuditEvent.object_id == case.ref, AuditEvent.action.in_(CHANGE_ACTIONS))
        .order_by(AuditEvent.id)))
