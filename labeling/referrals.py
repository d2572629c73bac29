"""Referrals in the queue: open a case from confirmed items, view it, download its report.

Reviewers and admins only. `install(app)` adds the routes and the `referral` template
function the item page's `_referral.html` include calls. Every view of a case and every
report downloaded is an AuditEvent (the report's chain of custody lists them).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from detector.db import session_scope
from detector.errors import NotFoundError
from detector.schema import Case, CaseMessage, Label, Message
from reports.cases import TLP, get_case, list_cases, open_case_from
from reports.export import MEDIA_TYPES, prepare_export, record_export, render_prepared
from reports.photos import PHOTO_MODES
from reports.render import FORMATS

from .accounts import require_reviewer
from .audit import record_event
from .params import fits, parse_int
from detector.review import state_of_labels
from .web import Ctx, logged_in, redirect

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
    app.state.templates.env.globals.update(referral=_referral, tlp_markings=TLP)


def _optional_int(value: str, field: str) -> int | None:
    value = value.strip()
    return parse_int(value, field) if value else None


@router.get("/cases")
def cases_page(request: Request) -> Response:
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        return ctx.render("cases.html", cases=list_cases(ctx.db))


@router.get("/cases/new")
def new_case_page(request: Request, messages: str = "", cluster: str = "", entity: str = "") -> Response:
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        return ctx.render("case_new.html", messages=messages, cluster=cluster, entity=entity)


@router.post("/cases")
def open_case_action(request: Request, tlp: str = Form(""), summary: str = Form(""), messages: str = Form(""),
                     cluster_id: str = Form(""), entity_id: str = Form("")) -> Response:
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        ids = [_optional_int(part, "a message id") for part in messages.split(",") if part.strip()]
        case = open_case_from(ctx.db, ctx.user.name, message_ids=[i for i in ids if i is not None] or None,
                              cluster_id=_optional_int(cluster_id, "cluster"), entity_id=_optional_int(entity_id, "entity"),
                              tlp=tlp, summary=summary[:2000])
        return redirect(f"/cases/{case.ref}")


def _case_view(ctx: Ctx, ref: str) -> Case:
    """The case by reference or number; a number out of a database id's range is simply not found."""
    require_reviewer(ctx.user)
    if ref.isdigit() and not fits(ref):
        raise NotFoundError(f"no case {ref[:40]!r}")
    return get_case(ctx.db, ref)


@router.get("/cases/{ref}")
def case_page(request: Request, ref: str) -> Response:
    with logged_in(request) as ctx:
        case = _case_view(ctx, ref)
        record_event(ctx.db, ctx.user.name, "case_view", "case", case.ref)
        messages = ctx.db.scalars(select(Message).where(Message.id.in_([m.message_id for m in case.messages]))
                                  .order_by(Message.sent_at, Message.id)).all()
        return ctx.render("case.html", case=case, messages=messages, formats=FORMATS, photo_modes=PHOTO_MODES)


@router.post("/cases/{ref}/report")
def case_report(request: Request, ref: str, format: str = Form(""), redact: str = Form(""),
                photos: str = Form("blurred")) -> Response:
    with logged_in(request) as ctx:  # a short read: login, case, report data
        prepared = prepare_export(ctx.db, _case_view(ctx, ref), format, actor=ctx.user.name, redact=redact == "on",
                                  evidence_dir=request.app.state.settings.evidence_dir, photos=photos, via="web")
    data = render_prepared(prepared)  # no transaction open while rendering (PDF can take minutes)
    with session_scope(request.app.state.engine) as db:  # a short write: the audit row names the bytes sent
        record_export(db, prepared, data)
    name = f"{prepared.ref}{'-redacted' if redact == 'on' else ''}.{format}"
    return Response(data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
