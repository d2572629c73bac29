"""Referrals in the queue: open a case from confirmed items, view it, download its report.

Reviewers and admins only. `install(app)` adds these routes, the case-building ones of `case_edit`, and
the `referral` template function the item page's `_referral.html` include calls. Every view of a case and
every report downloaded is an AuditEvent (the report's chain of custody lists them).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from detector.db import session_scope
from detector.schema import Case, CaseMessage, Label, Message
from reports.case_members import case_changes, open_selected
from reports.cases import TLP, list_cases
from reports.redact import mask_label
from reports.export import MEDIA_TYPES, prepare_export, record_export, render_prepared
from reports.photos import PHOTO_MODES
from reports.render import FORMATS

from . import case_edit
from .accounts import require_reviewer
from .audit import record_event
from .case_edit import Source, case_for, checked_tlp, last_change, preview, preview_selection, remember_change
from detector.review import state_of_labels
from .web import logged_in

router = APIRouter()


@dataclass
class Referral:
    """What the item page's referral panel shows: the message's cases and whether it may be referred."""

    cases: list[Case]
    referable: bool


def _referral(request: Request, message_id: int) -> Referral:
    """For the item page's include (its handler has already checked the login)."""
    with session_scope(request.app.state.engine) as db:
        cases = db.scalars(select(Case).join(CaseMessage, CaseMessage.case_id == Case.id)
                           .where(CaseMessage.message_id == message_id).order_by(Case.id)).all()
        labels = db.scalars(select(Label).where(Label.message_id == message_id)).all()
        return Referral(list(cases), state_of_labels(labels) == "confirmed")


def install(app: FastAPI) -> None:
    """Add the case pages and the item page's referral panel to the queue app."""
    app.include_router(router)
    app.include_router(case_edit.router)
    app.state.templates.env.globals.update(referral=_referral, tlp_markings=TLP)


@router.get("/cases")
def cases_page(request: Request) -> Response:
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        return ctx.render("cases.html", cases=list_cases(ctx.db))


@router.get("/cases/new")
def new_case_page(request: Request, messages: list[str] = Query([]), cluster: str = "", entity: str = "") -> Response:
    """What a case from these messages (or this cluster or entity) would take and leave out, and why;
    then open it or add them to an open case."""
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        source = Source.parse(messages, cluster, entity)
        selection = preview_selection(ctx, source)
        return ctx.render("case_new.html", source=source, selection=selection, rows=preview(ctx, selection),
                          cases=list_cases(ctx.db), messages=",".join(map(str, source.message_ids)),
                          cluster=source.cluster_id or "", entity=source.entity_id or "")


@router.post("/cases")
def open_case_action(request: Request, tlp: str = Form(""), summary: str = Form(""), messages: list[str] = Form([]),
                     cluster_id: str = Form(""), entity_id: str = Form("")) -> Response:
    """Open a case of the referable messages named; the case page lists the others and why they were left out."""
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        source = Source.parse(messages, cluster_id, entity_id)
        case, _ = open_selected(ctx.db, ctx.user.name, source.wanted(ctx), tlp=checked_tlp(tlp), summary=summary[:2000],
                                cluster_id=source.cluster_id, entity_id=source.entity_id)
        return remember_change(ctx, case)


@router.get("/cases/{ref}")
def case_page(request: Request, ref: str) -> Response:
    with logged_in(request) as ctx:
        case = case_for(ctx, ref)
        record_event(ctx.db, ctx.user.name, "case_view", "case", case.ref)
        ids = [m.message_id for m in case.messages]
        messages = ctx.db.scalars(select(Message).where(Message.id.in_(ids)).options(selectinload(Message.source))
                                  .order_by(Message.sent_at, Message.id)).all()
        labels: dict[int, list[Label]] = {}
        for label in ctx.db.scalars(select(Label).where(Label.message_id.in_(ids)).options(selectinload(Label.user))
                                    .order_by(Label.created_at, Label.id)):
            labels.setdefault(label.message_id, []).append(label)
        return ctx.render("case.html", case=case, messages=messages, formats=FORMATS, photo_modes=PHOTO_MODES,
                          translations={m.message_id: m.translation for m in case.messages}, labels=labels,
                          masks=[(value, mask_label(value)) for value in case.masked or []],
                          changes=case_changes(ctx.db, case), just_changed=last_change(ctx, case))


@router.post("/cases/{ref}/report")
def case_report(request: Request, ref: str, format: str = Form(""), redact: str = Form(""),
                photos: str = Form("blurred")) -> Response:
    with logged_in(request) as ctx:  # a short read: login, case, report data
        prepared = prepare_export(ctx.db, case_for(ctx, ref), format, actor=ctx.user.name, redact=redact == "on",
                                  evidence_dir=request.app.state.settings.evidence_dir, photos=photos, via="web")
    data = render_prepared(prepared)  # no transaction open while rendering (PDF can take minutes)
    with session_scope(request.app.state.engine) as db:  # a short write: the audit row names the bytes sent
        record_export(db, prepared, data)
    name = f"{prepared.ref}{'-redacted' if redact == 'on' else ''}.{format}"
    return Response(data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
