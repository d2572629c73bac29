"""Session secret, CSRF tokens and the security headers every response carries."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from starlette.requests import Request

from detector.config import Settings
from detector.errors import ConfigError

from .errors import CsrfRefused

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; media-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), autoplay=()",
}


def default_secret_file(settings: Settings) -> Path:
    """Where a generated session secret is kept: beside the evidence store, never inside it."""
    return settings.evidence_dir.resolve().parent / ".detector-secret-key"


def session_secret(settings: Settings, secret_file: Path | None = None) -> str:
    """DETECTOR_SECRET_KEY when set; otherwise a random key created once in a private (0600) file."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigError("DETECTOR_SECRET_KEY must have at least 32 characters")
        return settings.secret_key
    path = secret_file or default_secret_file(settings)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < 32:
            raise ConfigError(f"{path}: the session secret is too short; delete the file to make a new one") from None
        return secret
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the session secret ({exc.strerror})") from exc
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def csrf_guard(request: Request) -> None:
    """Refuse (403) a state-changing request that lacks the session's token in a form field or header."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf", "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD, ""))
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused("this form has expired or did not come from this site; reload the page and try again")
