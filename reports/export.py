"""Export a case's report in one format: read, render, then audit, each step short.

No write transaction is ever held across the render (a PDF of a case with a large message
takes minutes, and on SQLite a write transaction blocks every other writer): `prepare_export`
reads what the report needs, `render_prepared` renders it with no database at all, and
`record_export` appends the `report_export` AuditEvent afterwards, naming the SHA-256 and size
of exactly the bytes exported. A render that fails leaves no audit row claiming an export.
`export_case` runs the three steps, each read and write in its own short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from detector.atomic import atomic_path
from detector.db import session_scope
from detector.errors import ConfigError
from detector.hashing import sha256_bytes
from detector.schema import AuditEvent, Case, Media

from .build import build_report, iso
from .cases import get_case, require_referable
from .photos import PHOTO_MODES, photo_data_uri
from .render import FORMATS, to_csv, to_html, to_json, to_pdf
from .stix import MEDIA_TYPE as STIX_MEDIA_TYPE, to_stix

EXPORT_FORMATS = (*FORMATS, "stix")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "json": "application/json",
               "csv": "text/csv; charset=utf-8", "stix": STIX_MEDIA_TYPE}


@dataclass(frozen=True)
class PreparedExport:
    """Everything one export needs, read from the database: render it with no transaction open."""

    ref: str
    message_ids: tuple[int, ...]
    fmt: str
    actor: str
    redact: bool
    photos: str
    via: str
    exported_at: datetime  # the `at` of its report_export AuditEvent (the report lists that event already)
    report: dict[str, Any]
    photo_uris: dict[int, str]

    @property
    def audit_after(self) -> dict[str, Any]:
        return {"format": self.fmt, "redacted": self.redact, "photos": self.photos, "via": self.via,
                "content_sha256": self.report["integrity"]["content_sha256"]}


def _photo_uris(session: Session, report: dict[str, Any], evidence_dir: Path) -> dict[int, str]:
    wanted = {p["media_id"]: p["shown"] for m in report["messages"] for p in m["photos"] if p["shown"] != "none"}
    uris = {}
    for media in session.scalars(select(Media).where(Media.id.in_(list(wanted)))):
        uri = photo_data_uri(evidence_dir, media.stored_path or "", media.mime, wanted[media.id])
        if uri:
            uris[media.id] = uri
    return uris


def prepare_export(session: Session, case: Case, fmt: str, *, evidence_dir: Path, actor: str, redact: bool = False,
                   photos: str = "blurred", via: str = "cli", now: datetime | None = None,
                   signing_key: str | None = None) -> PreparedExport:
    """Check every message is still referable and read the report (reads only, writes nothing).

    `signing_key` is the fingerprint of the key that will sign the bundle carrying the report.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown report format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if photos not in PHOTO_MODES:
        raise ConfigError(f"unknown photo mode {photos!r}: use one of {', '.join(PHOTO_MODES)}")
    ids = tuple(require_referable(session, [m.message_id for m in case.messages]))
    exported_at = datetime.now(timezone.utc)
    own_event = {"at": iso(exported_at), "actor": actor, "action": "report_export", "object": f"case {case.ref}"}
    report = build_report(session, case, actor=actor, redact=redact, photos=photos, now=now or exported_at,
                          pending_events=[own_event], signing_key=signing_key)
    uris = _photo_uris(session, report, evidence_dir) if fmt in ("html", "pdf") else {}
    return PreparedExport(case.ref, ids, fmt, actor, redact, photos, via, exported_at, report, uris)


def render_prepared(prepared: PreparedExport) -> bytes:
    """The report's bytes; touches no database (the slow step: WeasyPrint for PDF)."""
    if prepared.fmt == "json":
        return to_json(prepared.report)
    if prepared.fmt == "csv":
        return to_csv(prepared.report)
    if prepared.fmt == "stix":
        return to_stix(prepared.report)
    if prepared.fmt == "pdf":
        return to_pdf(prepared.report, prepared.photo_uris)
    return to_html(prepared.report, prepared.photo_uris).encode("utf-8")


def record_export(session: Session, prepared: PreparedExport, data: bytes,
                  extra: dict[str, Any] | None = None) -> AuditEvent:
    """Audit the export of exactly `data` (its SHA-256 and size, and any `extra` facts such as a bundle's
    files); refused if a message stopped being referable."""
    require_referable(session, prepared.message_ids)
    event = AuditEvent(at=prepared.exported_at, actor=prepared.actor, action="report_export", object_type="case",
                       object_id=prepared.ref, after={**prepared.audit_after, "sha256": sha256_bytes(data),
                                                      "size": len(data), **(extra or {})})
    session.add(event)
    session.flush()
    return event


def export_case(engine: Engine, ref: str, fmt: str, *, evidence_dir: Path, actor: str, redact: bool = False,
                photos: str = "blurred", via: str = "cli", now: datetime | None = None) -> tuple[str, bytes]:
    """Read (short transaction), render (no transaction), audit (short transaction); returns (case ref, bytes)."""
    with session_scope(engine) as session:
        prepared = prepare_export(session, get_case(session, ref), fmt, evidence_dir=evidence_dir, actor=actor,
                                  redact=redact, photos=photos, via=via, now=now)
    data = render_prepared(prepared)
    with session_scope(engine) as session:
        record_export(session, prepared, data)
    return prepared.ref, data


def write_atomically(path: Path, data: bytes) -> None:
    """Write the whole file or nothing (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
