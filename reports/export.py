"""Export a case's report in one format: audit the export, build, render, write atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.atomic import atomic_path
from detector.errors import ConfigError
from detector.schema import AuditEvent, Case, Media

from .build import build_report
from .cases import require_referable
from .photos import PHOTO_MODES, photo_data_uri
from .render import FORMATS, to_csv, to_html, to_json, to_pdf

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "json": "application/json",
               "csv": "text/csv; charset=utf-8"}


def _photo_uris(session: Session, report: dict[str, Any], evidence_dir: Path) -> dict[int, str]:
    wanted = {p["media_id"]: p["shown"] for m in report["messages"] for p in m["photos"] if p["shown"] != "none"}
    uris = {}
    for media in session.scalars(select(Media).where(Media.id.in_(list(wanted)))):
        uri = photo_data_uri(evidence_dir, media.stored_path or "", media.mime, wanted[media.id])
        if uri:
            uris[media.id] = uri
    return uris


def render_case(session: Session, case: Case, fmt: str, *, evidence_dir: Path, actor: str, redact: bool = False,
                photos: str = "blurred", via: str = "cli", now: datetime | None = None) -> bytes:
    """The report of `case` in `fmt`, after checking every message is still referable; the export is audited."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    if photos not in PHOTO_MODES:
        raise ConfigError(f"unknown photo mode {photos!r}: use one of {', '.join(PHOTO_MODES)}")
    require_referable(session, [m.message_id for m in case.messages])
    session.add(AuditEvent(actor=actor, action="report_export", object_type="case", object_id=case.ref,
                           after={"format": fmt, "redacted": redact, "photos": photos, "via": via}))
    session.flush()
    report = build_report(session, case, actor=actor, redact=redact, photos=photos, now=now)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    uris = _photo_uris(session, report, evidence_dir)
    return to_pdf(report, uris) if fmt == "pdf" else to_html(report, uris).encode("utf-8")


def write_atomically(path: Path, data: bytes) -> None:
    """Write the whole file or nothing (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
