"""The web pages: thin handlers that parse the request, call the queue functions and render."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from detector.db import session_scope
from detector.errors import NotFoundError, PermissionDenied
from detector.schema import Media, Message, QueueItem, Score, Source, User

from . import i18n
from . import queue as q
from .accounts import authenticate, change_settings, get_user, label_role, require_reviewer, user_settings
from .audit import record_event
from .decisions import TAG_TITLES, TAGS, decision_version, label_history, record_decision, undo_decision
from .errors import BadRequest, CannotUndo, NotLoggedIn, PhotoNotRevealed, RateLimited, StaleDecision
from .pending import PendingDecision, decision_path_id, from_form, from_login_form, parse_version
from .params import PathId, fits, parse_int
from .photos import blurred_copy, remember_reveal, revealed_ids
from detector.classify.explain import explain
from detector.text.display import SIGNAL_TYPES, segments
from detector.review import STATE_TITLES, STATES, deciding_labels
from .security import csrf_token
from .stats import (analyst_decisions, final_decisions, label_rows, language_agreements, pair_agreements, per_person,
                    reviewer_agreements, state_counts, who_said)
from .recall import audit_state_counts, latest_recall

PUBLIC_PATHS = frozenset({"/login"})


def session_user_id(request: Request) -> int:
    """The session's user id; NotLoggedIn (and the session cleared) when there is none or it
    is older than the app's absolute lifetime, however active it has been since."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise NotLoggedIn("please log in")
    try:
        login_at = datetime.fromisoformat(str(request.session.get("login_at", "")))
    except ValueError:
        login_at = None
    lifetime: timedelta = request.app.state.session_lifetime
    if login_at is None or login_at.tzinfo is None or datetime.now(timezone.utc) - login_at > lifetime:
        request.session.clear()
        raise NotLoggedIn("please log in")
    return user_id


def login_guard(request: Request) -> None:
    """App-wide: refuse every route but the login form early (before any form is validated)
    when there is no live session; handlers then load the user with `logged_in`."""
    if request.url.path not in PUBLIC_PATHS:
        session_user_id(request)


router = APIRouter()
CONTEXT_SIZE = 3
PAGE_SIZE = 50
MAX_PAGE = 10**15  # (page - 1) * PAGE_SIZE stays far inside a 64-bit OFFSET
RECENT_SIZE = 30
UNDO_SIZE = 20  # decisions of this login session that z / Backspace can take back, newest last
DECISION_TITLES = {"listing": "Listing", "not_listing": "Not a listing", "unsure": "Unsure", "skip": "Skip"}
SHOWN_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


@dataclass
class Ctx:
    """What a handler needs: the request, an open database session and the logged-in user."""

    request: Request
    db: Session
    user: User

    @property
    def words(self) -> gettext.NullTranslations:
        """The user's interface language, for words made in Python (notices)."""
        return i18n.translations(i18n.normalise_language(user_settings(self.user)["language"]))

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        """A page for the logged-in user, with this session's notice ("saved") and undo offer."""
        undo = _undo_stack(self.request)
        return render(self.request, template, status_code, user=self.user, flash=self.request.session.pop("flash", ""),
                      undo_label=_describe(undo[-1][1], undo[-1][2], self.words) if undo else "", **values)


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    templates = request.app.state.templates
    values.setdefault("user", None)
    settings = user_settings(values["user"]) if values["user"] else {}
    language = (i18n.normalise_language(settings["language"]) if settings
                else i18n.from_accept_language(request.headers.get("accept-language", "")))
    i18n.use(language)  # the template renders in this thread, inside TemplateResponse
    context = {"csrf": csrf_token(request), "settings": settings, "state_titles": STATE_TITLES,
               "lang": language, "dir": i18n.direction(language), "languages": i18n.LANGUAGES,
               "decision_titles": DECISION_TITLES, "decision_words": i18n.DECISION_WORDS, "tag_titles": TAG_TITLES,
               **values}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


@contextmanager
def logged_in(request: Request) -> Iterator[Ctx]:
    """A transaction and the session's user; NotLoggedIn when there is no valid session."""
    user_id = session_user_id(request)
    with session_scope(request.app.state.engine) as db:
        try:
            user = get_user(db, user_id)
        except NotFoundError as exc:
            request.session.clear()
            raise NotLoggedIn("please log in") from exc
        if str(request.session.get("login_at", "")) <= str((user.settings or {}).get("logged_out_at", "")):
            request.session.clear()  # this account logged out since: every earlier session has ended
            raise NotLoggedIn("please log in")
        yield Ctx(request, db, user)


def render_error(request: Request, status: int, message: str) -> Response:
    """The error page, with the navigation (and "Log out") when the session has a user."""
    try:
        with logged_in(request) as ctx:
            return ctx.render("error.html", status, status=status, message=message)
    except (NotLoggedIn, SQLAlchemyError):  # no session, or no database to read the user from
        return render(request, "error.html", status, status=status, message=message)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _with_query(path: str, flt: q.QueueFilter, **extra: Any) -> str:
    query = "&".join(part for part in (flt.query_string(), urlencode(extra) if extra else "") if part)
    return f"{path}?{query}" if query else path


def _safe_next(target: str) -> str:
    """Only local paths are followed after login (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


# --------------------------------------------------------------------------- login


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=_safe_next(next), error="", pending=None)


def _same_site(request: Request) -> bool:
    """False for a request another site's page sent (its decision is never offered for saving)."""
    origin = request.headers.get("origin", "null")  # "null" under our no-referrer policy: Sec-Fetch-Site decides
    if origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def login_to_save(request: Request) -> Response | None:
    """For a decision posted after the session ended: the login form holding that decision and
    its note (replayed by `login`), instead of losing them; None for any other request."""
    message_id = decision_path_id(request.url.path)
    if request.method != "POST" or message_id is None or not _same_site(request):
        return None
    pending = from_form(await request.form(), message_id, request.url.query)
    if pending is None:
        return None
    return render(request, "login.html", 401, next=_safe_next(f"/next?{pending.query}"), pending=pending,
                  error="Your session ended, so your decision is not saved yet. Log in and it will be saved.")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    next_url = _safe_next(str(form.get("next", "/")))
    pending = from_login_form(form, next_url)
    return await run_in_threadpool(_log_in, request, name, password, next_url, pending)  # argon2 takes ~0.5 s


def _log_in(request: Request, name: str, password: str, next_url: str, pending: PendingDecision | None) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        with session_scope(request.app.state.engine) as db:
            user = authenticate(db, request.app.state.limiter, name.strip(), password, address)
            user_id = user.id if user else None
    except RateLimited as exc:
        return render(request, "login.html", 429, next=next_url, error=str(exc).capitalize() + ".", pending=pending,
                      name=name)
    if user_id is None:
        return render(request, "login.html", 401, next=next_url, error="Wrong name or password.", pending=pending,
                      name=name)
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session.update({"uid": user_id, "login_at": datetime.now(timezone.utc).isoformat(), "recent": []})
    csrf_token(request)
    if pending is not None:
        return _save(request, pending, lambda ctx: redirect(next_url), replay=True)
    return redirect(next_url)


@router.post("/logout")
def logout(request: Request) -> Response:
    with logged_in(request) as ctx:
        ctx.user.settings = {**(ctx.user.settings or {}), "logged_out_at": datetime.now(timezone.utc).isoformat()}
        record_event(ctx.db, ctx.user.name, "logout", "user", ctx.user.id)
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(request: Request) -> Response:
    with logged_in(request) as ctx:
        return redirect("/review" if ctx.user.role == "reviewer" else "/queue")


# --------------------------------------------------------------------------- queue


def _queue_page(ctx: Ctx, mode: str) -> Response:
    params = ctx.request.query_params
    flt = q.QueueFilter.from_params(params, default_state="review" if mode == "review" else "open")
    flt = replace(flt, audit=True) if mode == "audit" else flt
    page = parse_int(params.get("page") or "1", "page", high=MAX_PAGE)
    q.refresh_queue(ctx.db)
    rows = q.list_items(ctx.db, flt, ctx.user.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    total = q.count_items(ctx.db, flt)
    languages = ctx.db.scalars(select(QueueItem.language).distinct()).all()
    channels = ctx.db.execute(
        select(Source.id, Source.name).where(Source.id.in_(select(QueueItem.source_id).distinct())).order_by(Source.name)
    ).all()
    return ctx.render(
        "queue.html", mode=mode, flt=flt, rows=rows, total=total, page=page,
        counts=audit_state_counts(ctx.db) if flt.audit else state_counts(ctx.db),
        languages=sorted(lang for lang in languages if lang),
        channels=channels, states=STATES, signal_types=SIGNAL_TYPES,
        empty=params.get("empty") == "1", query=flt.query_string(),
        next_url=_with_query("/next", flt), page_url=lambda n: _with_query(f"/{mode}", flt, page=n),
        pages=max(1, -(-total // PAGE_SIZE)), page_size=PAGE_SIZE, language_name=q.language_name,
        tags=TAGS, tag_titles=TAG_TITLES, state_url=lambda st: _with_query(f"/{mode}", replace(flt, state=st)),
        hidden=parse_qsl(flt.query_string()),
        said=who_said(ctx.db, [r.item.message_id for r in rows if r.item.state == "disputed"]),
    )


@router.get("/queue")
def queue_page(request: Request) -> Response:
    with logged_in(request) as ctx:
        return _queue_page(ctx, "queue")


@router.get("/review")
def review_page(request: Request) -> Response:
    with logged_in(request) as ctx:
        require_reviewer(ctx.user)
        return _queue_page(ctx, "review")


@router.get("/audit")
def audit_page(request: Request) -> Response:
    """The recall audit: a random sample of unflagged messages (`detector audit sample`), labelled like any item."""
    with logged_in(request) as ctx:
        return _queue_page(ctx, "audit")


def _default_state(user: User) -> str:
    return "review" if user.role == "reviewer" else "open"


def _queue_path(flt: q.QueueFilter) -> str:
    """The list page an item of this filter came from."""
    return "/audit" if flt.audit else "/review" if flt.state == "review" else "/queue"


def _go_next(ctx: Ctx, after: int | None = None) -> Response:
    flt = q.QueueFilter.from_params(ctx.request.query_params, _default_state(ctx.user))
    if flt.state == "review":
        require_reviewer(ctx.user)
    message_id = q.claim_next(ctx.db, ctx.user.id, flt, after=after)
    if message_id is None:
        return redirect(_with_query(_queue_path(flt), flt, empty=1))
    return redirect(_with_query(f"/items/{message_id}", flt))


@router.get("/next")
def next_item(request: Request) -> Response:
    with logged_in(request) as ctx:
        q.refresh_queue(ctx.db)
        return _go_next(ctx)


def _recent(request: Request) -> list[int]:
    recent = request.session.get("recent", [])
    return [i for i in recent if isinstance(i, int)] if isinstance(recent, list) else []


@router.get("/items/{message_id}/next")
def item_next(request: Request, message_id: PathId) -> Response:
    """`j`: forward through the items seen before, then on to the next unclaimed one."""
    with logged_in(request) as ctx:
        recent = _recent(request)
        if message_id in recent and recent.index(message_id) + 1 < len(recent):
            flt = q.QueueFilter.from_params(request.query_params, _default_state(ctx.user))
            return redirect(_with_query(f"/items/{recent[recent.index(message_id) + 1]}", flt))
        q.release(ctx.db, ctx.user.id, message_id)
        q.refresh_queue(ctx.db)
        return _go_next(ctx, after=message_id)


@router.get("/items/{message_id}/prev")
def item_prev(request: Request, message_id: PathId) -> Response:
    """`k`: back to the item seen before this one."""
    with logged_in(request) as ctx:
        flt = q.QueueFilter.from_params(request.query_params, _default_state(ctx.user))
        recent = _recent(request)
        if message_id in recent and recent.index(message_id) > 0:
            return redirect(_with_query(f"/items/{recent[recent.index(message_id) - 1]}", flt))
        return redirect(_with_query(_queue_path(flt), flt))


def _remember(request: Request, message_id: int) -> None:
    recent = _recent(request)
    if message_id not in recent:
        request.session["recent"] = (recent + [message_id])[-RECENT_SIZE:]


def _context_messages(db: Session, message: Message) -> tuple[list[Message], list[Message]]:
    """A few messages before and after this one in the same channel, in time order."""
    if message.sent_at is None:
        return [], []
    same = select(Message).where(Message.source_id == message.source_id, Message.id != message.id)
    before = db.scalars(
        same.where(Message.sent_at <= message.sent_at).order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(CONTEXT_SIZE)).all()
    after = db.scalars(
        same.where(Message.sent_at >= message.sent_at, Message.id.not_in([m.id for m in before]))
        .order_by(Message.sent_at, Message.id).limit(CONTEXT_SIZE)).all()
    return list(reversed(before)), list(after)


@router.get("/items/{message_id}")
def item_page(request: Request, message_id: PathId) -> Response:
    with logged_in(request) as ctx:
        flt = q.QueueFilter.from_params(request.query_params, _default_state(ctx.user))
        q.refresh_queue(ctx.db)
        message = ctx.db.get(Message, message_id)
        item = ctx.db.get(QueueItem, message_id)
        if message is None or item is None:
            raise NotFoundError(f"message {message_id} is not in the queue")
        holder_id = q.lease_holder(ctx.db, message_id)
        if holder_id in (None, ctx.user.id):
            q.claim(ctx.db, ctx.user.id, message_id)
            holder = None
        else:
            holder = ctx.db.get(User, holder_id)
        _remember(request, message_id)
        score = ctx.db.get(Score, item.score_id)
        before, after = _context_messages(ctx.db, message)
        if request.query_params.get("reveal"):  # checked, but never a reveal itself (see photos.py)
            parse_int(request.query_params["reveal"], "reveal")
        photos = [m for m in message.media if m.kind == "photo" and m.status == "stored"]
        history = label_history(ctx.db, message_id)
        mine = next((lab for lab in reversed(history) if lab.user_id == ctx.user.id), None)
        left = q.count_left(ctx.db, flt, ctx.user.id)
        return ctx.render(
            "item.html", flt=flt, message=message, item=item, score=score, holder=holder,
            message_segments=segments(message.text, message.signals), before=before, after=after,
            photos=photos, other_media=[m for m in message.media if m not in photos],
            revealed=revealed_ids(request),  # this session's reveals only (never a query parameter)
            history=history, counting={lab.id for lab in deciding_labels(history)}, tags=TAGS, tag_titles=TAG_TITLES,
            mine=mine, version=decision_version(ctx.db, message_id),
            ticked=set(mine.tags) if mine else ({"minor"} if item.minor else set()),
            left=left, total=left + _decided(request),
            role=label_role(ctx.user), query=flt.query_string(),
            explanation=explain(score.reasons if score else [], message.signals),
        )


@router.post("/items/{message_id}/decision")
def decide(request: Request, message_id: PathId, decision: str = Form(...), role: str = Form(...),
           tags: list[str] = Form(default=[]), note: str = Form(""), version: str = Form("")) -> Response:
    """Record the decision and go to the next item; 409 and a "not saved" page when the item
    was decided (or undone) since the page carrying `version` was shown."""
    if version and parse_version(version) is None:
        raise BadRequest("version must be a whole number")
    pending = PendingDecision(message_id, decision, role, tuple(tags), note, parse_version(version), request.url.query)
    return _save(request, pending, _go_next)


def _decided(request: Request) -> int:
    decided = request.session.get("decided", 0)
    return decided if isinstance(decided, int) and decided > 0 else 0


def _undo_stack(request: Request) -> list[list[Any]]:
    """This login session's undoable decisions: [label id, message id, decision], newest last."""
    stack = request.session.get("undo", [])
    return [e for e in stack if isinstance(e, list) and len(e) == 3] if isinstance(stack, list) else []


def _describe(message_id: int, decision: str, words: gettext.NullTranslations) -> str:
    """A decision in words ("Listing on item 12"), in the user's interface language."""
    return words.gettext("%(decision)s on item %(id)s") % {
        "decision": words.gettext(DECISION_TITLES.get(decision, decision)), "id": message_id}


def _save(request: Request, pending: PendingDecision, then: Any, replay: bool = False) -> Response:
    """Record `pending` for the session's user, remember it for undo and a "saved" notice, then
    answer `then(ctx)`. A stale version (or, when replaying after login, any refusal) answers
    the "not saved" page that keeps the decision and note for another try."""
    # a replayed decision (after a login) may also meet a message gone or a role lost: show it, never drop it
    refused = (StaleDecision, BadRequest, NotFoundError, PermissionDenied) if replay else (StaleDecision,)
    try:
        with logged_in(request) as ctx:
            q.refresh_queue(ctx.db)
            label = record_decision(ctx.db, ctx.user, pending.message_id, pending.role, pending.decision,
                                    pending.tags, pending.note, pending.version)
            q.release(ctx.db, ctx.user.id, pending.message_id)
            stack = _undo_stack(request) + [[label.id, pending.message_id, pending.decision]]
            request.session.update({"undo": stack[-UNDO_SIZE:], "decided": _decided(request) + 1,
                                    "flash": (ctx.words.gettext("Saved after login: %(what)s.") if replay
                                              else ctx.words.gettext("Saved: %(what)s.")) % {
                                        "what": _describe(pending.message_id, pending.decision, ctx.words)}})
            return then(ctx)
    except refused as exc:
        with logged_in(request) as ctx:
            version = decision_version(ctx.db, pending.message_id)
            retry = PendingDecision(pending.message_id, pending.decision, pending.role, pending.tags, pending.note,
                                    version, pending.query)
            return ctx.render("not_saved.html", 409 if isinstance(exc, StaleDecision) else 400,
                              pending=retry, reason=str(exc), decision_titles=DECISION_TITLES, tag_titles=TAG_TITLES)


@router.post("/decisions/undo")
def undo_last(request: Request) -> Response:
    """`z` / Backspace: take back this session's latest decision and show its item again."""
    with logged_in(request) as ctx:
        flt = q.QueueFilter.from_params(request.query_params, _default_state(ctx.user))
        stack = _undo_stack(request)
        if not stack:
            raise CannotUndo("there is no decision of this session to undo")
        request.session["undo"] = stack[:-1]  # gone from the offer whether or not it can be undone
        label_id, message_id, decision = stack[-1]
        undo_decision(ctx.db, ctx.user, label_id)
        request.session.update({"decided": max(_decided(request) - 1, 0),
                                "flash": ctx.words.gettext("Undone: %(what)s. Decide again.") % {
                                    "what": _describe(message_id, decision, ctx.words)}})
        return redirect(_with_query(f"/items/{message_id}", flt))


# --------------------------------------------------------------------------- photos


def _stored_photo(ctx: Ctx, media_id: int) -> tuple[Media, Path]:
    media = ctx.db.get(Media, media_id)
    if media is None or media.status != "stored" or not media.stored_path:
        raise NotFoundError(f"no stored media with id {media_id}")
    root = Path(ctx.request.app.state.settings.evidence_dir).resolve()
    path = (root / media.stored_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFoundError(f"media {media_id} is missing from the evidence store")
    return media, path


@router.get("/media/{media_id}")
def media_file(request: Request, media_id: PathId, original: str = "") -> Response:
    """A stored photo by its id (only to logged-in users; never a path from the request).

    Until this session revealed it (and while the user keeps photos blurred), the answer is a
    blurred JPEG derivative; `?original=1` then answers 403. The original is sent only after a
    reveal in this session, or to a user who switched blurring off, and each one sent is audited.
    """
    with logged_in(request) as ctx:
        media, path = _stored_photo(ctx, media_id)
        blur_on = user_settings(ctx.user).get("blur_photos", True)
        revealed = media.id in revealed_ids(request)
        if blur_on and not revealed:
            if original == "1":
                raise PhotoNotRevealed(f"reveal photo {media.id} first to see the original")
            return Response(blurred_copy(str(path)), media_type="image/jpeg", headers={
                "Cache-Control": "private, no-store",
                "Content-Disposition": f'inline; filename="media-{media.id}-blurred.jpg"'})
        record_event(ctx.db, ctx.user.name, "serve_original_photo", "media", media.id, None,
                     {"message_id": media.message_id, "sha256": media.sha256,
                      "why": "revealed" if revealed else "blur_off"})
    shown = media.mime in SHOWN_IMAGE_TYPES  # the event is committed before any byte is sent
    return FileResponse(
        path, media_type=media.mime if shown else "application/octet-stream", filename=f"media-{media.id}",
        content_disposition_type="inline" if shown else "attachment",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post("/media/{media_id}/reveal")
def reveal_photo(request: Request, media_id: PathId) -> Response:
    with logged_in(request) as ctx:
        media, _ = _stored_photo(ctx, media_id)
        record_event(ctx.db, ctx.user.name, "reveal_photo", "media", media.id, None, {"message_id": media.message_id})
        remember_reveal(request, media.id)
        if request.headers.get("accept", "").startswith("application/json"):
            return Response(status_code=204)
        flt = q.QueueFilter.from_params(request.query_params, _default_state(ctx.user))
        return redirect(_with_query(f"/items/{media.message_id}", flt, reveal=media.id) + f"#media-{media.id}")


# --------------------------------------------------------------------------- stats and settings


@router.get("/stats")
def stats_page(request: Request) -> Response:
    with logged_in(request) as ctx:
        rows = label_rows(ctx.db)
        finals = final_decisions(rows)
        return ctx.render(
            "stats.html", counts=state_counts(ctx.db), states=STATES, per_user=per_person(rows),
            pairs=pair_agreements(analyst_decisions(rows)), with_reviewers=reviewer_agreements(finals),
            languages=language_agreements(finals), language_name=q.language_name,
            referable=q.count_items(ctx.db, q.QueueFilter(state="confirmed")), recall=latest_recall(ctx.db),
        )


@router.get("/settings")
def settings_page(request: Request) -> Response:
    with logged_in(request) as ctx:
        return ctx.render("settings.html", saved=request.query_params.get("saved") == "1")


@router.post("/settings")
def save_settings(request: Request, blur_photos: str = Form(""), break_minutes: str = Form("0"),
                  language: str = Form("")) -> Response:
    """Save the preferences; a form without `language` keeps the interface language."""
    if not fits(break_minutes, 0, 480):
        raise BadRequest("break reminder must be a number of minutes between 0 (off) and 480")
    if language and language not in i18n.LANGUAGES:
        raise BadRequest(f"interface language must be one of {', '.join(i18n.LANGUAGES)}")
    with logged_in(request) as ctx:
        change_settings(ctx.db, ctx.user, {"blur_photos": blur_photos == "on", "break_minutes": int(break_minutes),
                                           **({"language": language} if language else {})})
    return redirect("/settings?saved=1")


# --------------------------------------------------------------------------- JSON API (same rules: login, CSRF header)


@router.get("/api/queue")
def api_queue(request: Request) -> dict[str, Any]:
    with logged_in(request) as ctx:
        flt = q.QueueFilter.from_params(request.query_params, _default_state(ctx.user))
        q.refresh_queue(ctx.db)
        rows = q.list_items(ctx.db, flt, ctx.user.id, limit=100)
        return {"total": q.count_items(ctx.db, flt), "items": [
            {"message_id": r.item.message_id, "probability": r.item.probability, "priority": r.item.priority,
             "state": r.item.state, "language": r.item.language, "channel": r.channel,
             "sent_at": r.sent_at.isoformat() if r.sent_at else None, "taken": r.leased_by_other} for r in rows]}


@router.get("/api/stats")
def api_stats(request: Request) -> dict[str, Any]:
    with logged_in(request) as ctx:
        rows = label_rows(ctx.db)
        finals, people = final_decisions(rows), per_person(rows)
        return {"states": state_counts(ctx.db),
                "per_user": {name: dict(c.final) for name, c in people.items()},
                "changes_of_mind": {name: c.changes for name, c in people.items()},
                "pairs": [vars(p) for p in pair_agreements(analyst_decisions(rows))],
                "analysts_vs_reviewers": [vars(p) for p in reviewer_agreements(finals)],
                "languages": [{"language": a.language, "analysts": a.analysts and vars(a.analysts),
                               "reviewers": a.reviewers and vars(a.reviewers)} for a in language_agreements(finals)],
                "recall_audit": (report := latest_recall(ctx.db)) and report.to_dict()}


@router.post("/api/items/{message_id}/decision", response_model=None)
def api_decide(request: Request, message_id: PathId, body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
    """Record a decision sent as JSON: {"decision", "role", "tags": [...], "note", "version"}.

    With "version" (the item's version when it was read; see the answer's "version") a decision
    recorded since answers 409 {"error", "version", "latest": {"by", "decision"}} and stores nothing."""
    tags, note, version = body.get("tags", []), body.get("note", ""), body.get("version")
    if not isinstance(tags, list) or not isinstance(note, str):
        raise BadRequest("tags must be a list and note a string")
    if version is not None and (type(version) is not int or version < 0):
        raise BadRequest("version must be a whole number")
    try:
        with logged_in(request) as ctx:
            q.refresh_queue(ctx.db)
            label = record_decision(ctx.db, ctx.user, message_id, str(body.get("role", "")),
                                    str(body.get("decision", "")), [str(t) for t in tags], note, version)
            ctx.db.flush()
            state = ctx.db.get(QueueItem, message_id).state
            return {"label_id": label.id, "state": state, "version": decision_version(ctx.db, message_id)}
    except StaleDecision as exc:
        return JSONResponse({"error": str(exc), "version": exc.version,
                             "latest": {"by": exc.by, "decision": exc.decision}}, status_code=409)
