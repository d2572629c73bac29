"""Building cases in the queue: the preview of what a case would take (and leave out, and why), adding and
removing messages, translations and masks. Reviewers and admins only; every form carries the CSRF token.

After a change the case page shows its outcome: the change's AuditEvent id is kept in the session (never
the lists themselves, which could outgrow a cookie) and the event says what was taken and left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from detector.errors import ConfigError, NotFoundError
from detector.schema import AuditEvent, Case, Message
from reports.case_members import (CHANGE_ACTIONS, Selection, add_messages, remove_masks, remove_messages,
                                  select_messages)
from reports.cases import add_masks, candidates, check_tlp, get_case, set_translation

from .accounts import require_reviewer
from .errors import BadRequest
from .i18n import gettext_ as _
from .params import fits, parse_int
from .web import Ctx, logged_in, redirect

router = APIRouter()
SHOWN = 200  # messages listed on a preview
MAX_MASK = 300  # characters of one masked value
MAX_TRANSLATION = 20_000


@dataclass(frozen=True)
class Source:
    """Where a case's messages come from: ids given, a cluster or an entity (as a form gives them)."""

    message_ids: tuple[int, ...] = ()
    cluster_id: int | None = None
    entity_id: int | None = None

    @classmethod
    def parse(cls, messages: Iterable[str], cluster: str, entity: str) -> "Source":
        """From form or query fields: `messages` repeated or comma-separated; BadRequest for anything else."""
        ids = tuple(parse_int(part, "a message id") for value in messages for part in re.split(r"[\s,]+", value) if part)
        return cls(ids, _optional_int(cluster, "cluster"), _optional_int(entity, "entity"))

    @property
    def given(self) -> bool:
        return bool(self.message_ids) or self.cluster_id is not None or self.entity_id is not None

    def wanted(self, ctx: Ctx) -> list[int]:
        """The message ids this source names (BadRequest when it names nothing)."""
        if not self.given:
            raise BadRequest("choose messages, a cluster or an entity")
        return candidates(ctx.db, message_ids=self.message_ids, cluster_id=self.cluster_id, entity_id=self.entity_id)

    def describe(self) -> str:
        """Where the messages come from, in the interface language of the page being rendered."""
        if self.message_ids:
            n = len(self.message_ids)
            return _("1 selected message") if n == 1 else _("%(n)s selected messages") % {"n": n}
        if self.cluster_id is not None:
            return _("cluster %(id)s") % {"id": self.cluster_id}
        return _("entity %(id)s") % {"id": self.entity_id}


@dataclass(frozen=True)
class PreviewRow:
    """One message of a preview: the message (None when there is no such id) and why it is left out ('' if taken)."""

    message_id: int
    message: Message | None
    left_out: str


def _optional_int(value: str, field: str) -> int | None:
    value = value.strip()
    return parse_int(value, field) if value else None


def checked_tlp(value: str) -> str:
    """The TLP marking from a form; BadRequest for an unknown one."""
    try:
        return check_tlp(value)
    except ConfigError as exc:
        raise BadRequest(str(exc)) from exc


def case_for(ctx: Ctx, ref: str) -> Case:
    """The case by reference or number, for a reviewer; a number out of a database id's range is not found."""
    require_reviewer(ctx.user)
    if ref.isdigit() and not fits(ref):
        raise NotFoundError(f"no case {ref[:40]!r}")
    return get_case(ctx.db, ref)


def preview(ctx: Ctx, selection: Selection) -> list[PreviewRow]:
    """The first SHOWN messages a change names, each with why it would be left out."""
    why = dict(selection.left_out)
    ids = sorted([*selection.taken, *why])[:SHOWN]
    messages = {m.id: m for m in ctx.db.scalars(select(Message).where(Message.id.in_(ids))
                                                .options(selectinload(Message.source)))}
    return [PreviewRow(i, messages.get(i), why.get(i, "")) for i in ids]


def preview_selection(ctx: Ctx, source: Source) -> Selection:
    return select_messages(ctx.db, source.wanted(ctx)) if source.given else Selection([], [])


def remember_change(ctx: Ctx, case: Case) -> Response:
    """Keep the id of the case's latest change for its page to report, and go there."""
    ctx.db.flush()
    ctx.request.session["case_change"] = ctx.db.scalar(
        select(func.max(AuditEvent.id)).where(AuditEvent.object_type == "case", AuditEvent.object_id == case.ref,
                                              AuditEvent.action.in_(CHANGE_ACTIONS)))
    return redirect(f"/cases/{case.ref}")


def last_change(ctx: Ctx, case: Case) -> AuditEvent | None:
    """The change this session just made to the case (once: the notice is not repeated on reload)."""
    event_id = ctx.request.session.pop("case_change", None)
    event = ctx.db.get(AuditEvent, event_id) if isinstance(event_id, int) else None
    return event if event is not None and event.object_id == case.ref and event.object_type == "case" else None


@router.post("/cases/extend")
def extend_case(request: Request, case: str = Form(""), messages: list[str] = Form([]), cluster_id: str = Form(""),
                entity_id: str = Form("")) -> Response:
    """Add messages (ids, a cluster's or an entity's) to a case; the case page says what was left out and why."""
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        if not case.strip():
            raise BadRequest("choose the case to add to")
        target = case_for(ctx, case.strip())
        add_messages(ctx.db, ctx.user.name, target, Source.parse(messages, cluster_id, entity_id).wanted(ctx))
        return remember_change(ctx, target)


@router.post("/cases/{ref}/remove")
def remove_from_case(request: Request, ref: str, messages: list[str] = Form([])) -> Response:
    with logged_in(request) as ctx:
        target = case_for(ctx, ref)
        remove_messages(ctx.db, ctx.user.name, target, Source.parse(messages, "", "").wanted(ctx))
        return remember_change(ctx, target)


@router.post("/cases/{ref}/translation")
def translate(request: Request, ref: str, message_id: str = Form(""), translation: str = Form("")) -> Response:
    with logged_in(request) as ctx:
        target = case_for(ctx, ref)
        number = parse_int(message_id, "message_id")
        set_translation(ctx.db, ctx.user.name, target, number, translation[:MAX_TRANSLATION])
        request.session["flash"] = ctx.words.gettext("Saved the translation of message %(id)s.") % {"id": number}
        return redirect(f"/cases/{target.ref}#message-{number}")


@router.post("/cases/{ref}/masks")
def mask(request: Request, ref: str, values: str = Form("")) -> Response:
    """Mask more values (one a line) in the case's redacted reports and alerts."""
    with logged_in(request) as ctx:
        target = case_for(ctx, ref)
        wanted = [v.strip()[:MAX_MASK] for v in values.splitlines() if v.strip()]
        if not wanted:
            raise BadRequest("write the values to mask, one a line")
        add_masks(ctx.db, ctx.user.name, target, wanted)
        request.session["flash"] = (ctx.words.gettext("1 value will be masked.") if len(wanted) == 1 else
                                    ctx.words.gettext("%(n)s values will be masked.") % {"n": len(wanted)})
        return redirect(f"/cases/{target.ref}#masks")


@router.post("/cases/{ref}/unmask")
def unmask(request: Request, ref: str, value: str = Form("")) -> Response:
    with logged_in(request) as ctx:
        target = case_for(ctx, ref)
        if value.strip() not in (target.masked or []):
            raise BadRequest("that value is not masked in this case")
        remove_masks(ctx.db, ctx.user.name, target, [value])
        request.session["flash"] = ctx.words.gettext("That value is no longer masked.")
        return redirect(f"/cases/{target.ref}#masks")
