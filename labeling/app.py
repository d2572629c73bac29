"""The FastAPI application factory: database, sessions, CSRF, security headers, one error map."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from detector.config import Settings
from detector.db import open_database
from detector.errors import ConfigError, DetectorError, InputError, ModelError, NotFoundError, PermissionDenied

from .accounts import LoginLimiter
from .errors import BadRequest, CannotUndo, NotLoggedIn, RateLimited, StaleDecision
from detector.text.display import segments, text_direction
from .security import SECURITY_HEADERS, csrf_guard, session_secret
from . import hosts, i18n, referrals
from . import links
from . import watchlist
from .web import login_guard, login_to_save, render_error, router

PACKAGE_DIR = Path(__file__).parent
SESSION_HOURS = 12
# One map from the error family to HTTP status codes; the most specific class wins.
STATUS_FOR_ERROR: dict[type[DetectorError], int] = {
    NotLoggedIn: 401,
    PermissionDenied: 403,
    NotFoundError: 404,
    BadRequest: 400,
    InputError: 400,
    RateLimited: 429,
    StaleDecision: 409,
    CannotUndo: 409,
    ConfigError: 500,
    ModelError: 500,
    DetectorError: 400,
}


# A path id that is not a number in range (`params.PathId`), in words (translated on the error page).
NOT_FOUND_WORDS = {"message_id": i18n.N_("No such item."), "media_id": i18n.N_("No such photo."),
                   "cluster_id": i18n.N_("No such group of reposts."),
                   "entity_id": i18n.N_("No such shared contact or photo.")}


def status_for(error: DetectorError) -> int:
    """The HTTP status for an error: the entry of its nearest class in STATUS_FOR_ERROR."""
    for cls in type(error).__mro__:
        if cls in STATUS_FOR_ERROR:
            return STATUS_FOR_ERROR[cls]
    return 500


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.headers.get("accept", "").startswith("application/json")


async def _error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return await run_in_threadpool(render_error, request, status, message)  # reads the user: off the event loop


async def _detector_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DetectorError)
    if isinstance(error, NotLoggedIn) and not _wants_json(request) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if isinstance(error, NotLoggedIn) and not _wants_json(request):
        kept = await login_to_save(request)  # a decision posted after the session ended: log in to save it
        if kept is not None:
            return kept
    return await _error_response(request, status_for(error), str(error))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    return await _error_response(request, error.status_code, str(error.detail))


async def _validation_error(request: Request, error: Exception) -> Response:
    """400 for a bad form field or query parameter; 404 for a path whose id is out of range."""
    assert isinstance(error, RequestValidationError)
    locations = [e.get("loc", ["?"]) for e in error.errors()]
    fields = ", ".join(str(loc[-1]) for loc in locations)
    if locations and all(loc[0] == "path" for loc in locations):
        missing = NOT_FOUND_WORDS.get(str(locations[0][-1]), i18n.N_("Nothing is at this address."))
        return await _error_response(request, 404, missing)
    return await _error_response(request, 400, f"missing or invalid form field: {fields}")


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,  # every template, whatever its name: message text is hostile
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    # `_()`, `gettext` and `{% trans %}` in the language `i18n.use` chose for this render; newstyle
    # gettext escapes every value put into a translation.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext_, i18n.ngettext_, newstyle=True, pgettext=i18n.pgettext_)
    env.filters["tr"] = i18n.gettext_  # a word held in a variable (state, tag, ...): plain text, escaped
    env.globals["text_direction"] = text_direction  # dir= of every shown message text
    env.globals["segments"] = segments  # message text as escaped segments, numbers isolated (_text.html)
    return Jinja2Templates(env=env)


def create_app(settings: Settings, *, secure_cookies: bool = False, secret_file: Path | None = None,
               limiter: LoginLimiter | None = None, session_hours: float | None = None,
               allowed_hosts: Sequence[str] | None = None, forwarded_allow_ips: Sequence[str] = ()) -> FastAPI:
    """The labelling queue for the database in `settings` (migrated on start).

    `secure_cookies` marks the session cookie Secure (serve behind HTTPS). A session ends
    `session_hours` (default SESSION_HOURS) after its login, however active. `allowed_hosts`
    lists the Host headers answered (None: any); X-Forwarded-For is read only from the
    addresses in `forwarded_allow_ips` (none by default: the peer's address is the client's).
    """
    session_hours = SESSION_HOURS if session_hours is None else session_hours
    if not 0 < session_hours <= 24 * 366:
        raise ConfigError("the session lifetime must be a positive number of hours")
    app = FastAPI(title="Labelling queue", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(login_guard), Depends(csrf_guard)])
    app.state.settings = settings
    app.state.engine = open_database(settings.database_url)
    app.state.templates = _templates()
    app.state.limiter = limiter or LoginLimiter()
    app.state.session_lifetime = timedelta(hours=session_hours)
    app.include_router(router)
    referrals.install(app)
    links.install(app)
    watchlist.install(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.add_exception_handler(DetectorError, _detector_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings, secret_file),
        session_cookie="detector_session",
        max_age=max(1, round(session_hours * 3600)),
        same_site="strict",
        https_only=secure_cookies,
    )
    hosts.install(app, allowed_hosts=allowed_hosts, forwarded_allow_ips=forwarded_allow_ips)
    return app
