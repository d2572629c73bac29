"""Check a JSON report against the database and the evidence store: every hash recomputed.

Returns one line per mismatch, naming what changed (empty when everything matches):
the report itself, a message's raw bytes (each version's) or text, an export file or a photo.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from detector.errors import InputError
from detector.hashing import sha256_bytes, sha256_stream
from detector.ingest.evidence import EvidenceError, EvidenceStore
from detector.ingest.originals import original_bytes
from detector.schema import ExportFile, Media, Message, MessageVersion

from .build import content_sha256, text_sha256
from .schema import schema_errors


def load_report(path: Path) -> dict[str, Any]:
    """Read a JSON report; InputError when it is not JSON or breaks the schema."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a readable JSON report ({exc})") from exc
    errors = schema_errors(report)
    if errors:
        raise InputError(path, f"does not follow the report schema: {errors[0]}")
    return report


def _stored_sha256(store: EvidenceStore, rel_path: str | None) -> str | None:
    """SHA-256 of a blob's current bytes, or None when it is missing."""
    if not rel_path:
        return None
    try:
        with store.open(rel_path) as stream:
            return sha256_stream(stream)[0]
    except (OSError, EvidenceError):
        return None


def _original_sha256(store: EvidenceStore, item: Message | MessageVersion | None) -> str | None:
    """SHA-256 of a message's or version's bytes as kept now (inline or a span of its stored export), None when gone."""
    if item is None:
        return None
    try:
        return sha256_bytes(original_bytes(store, item))
    except (OSError, EvidenceError):
        return None


def _compare(problems: list[str], what: str, expected: str | None, actual: str | None) -> None:
    if expected != actual:
        problems.append(f"{what}: report has {expected or 'nothing'}, now {actual or 'missing'}")


def _check_export(session: Session, store: EvidenceStore, entry: dict[str, Any]) -> list[str]:
    name = f"export file {entry['id']} ({entry['name']})"
    export = session.get(ExportFile, entry["id"])
    if export is None:
        return [f"{name}: no longer in the database"]
    problems: list[str] = []
    _compare(problems, f"{name} database SHA-256", entry["sha256"], export.sha256)
    _compare(problems, f"{name} stored bytes in the evidence store ({export.stored_path})", entry["sha256"],
             _stored_sha256(store, export.stored_path))
    return problems


def _check_message(session: Session, store: EvidenceStore, entry: dict[str, Any]) -> list[str]:
    name = f"message {entry['message_id']} ({entry['platform']} {entry['channel']['id']} #{entry['external_id']})"
    message = session.get(Message, entry["message_id"])
    if message is None:
        return [f"{name}: no longer in the database"]
    problems: list[str] = []
    _compare(problems, f"{name} raw bytes", entry["hashes"]["raw_sha256"], _original_sha256(store, message))
    _compare(problems, f"{name} stored raw_sha256", entry["hashes"]["raw_sha256"], message.raw_sha256)
    _compare(problems, f"{name} text", entry["hashes"]["text_sha256"], text_sha256(message.text))
    kept = {v.version: v for v in message.history}
    for version in entry["versions"][1:]:  # version 1 is the message's own bytes, checked above
        _compare(problems, f"{name} version {version['version']} raw bytes", version["raw_sha256"],
                 _original_sha256(store, kept.get(version["version"])))
    for photo in entry["photos"]:
        media = session.get(Media, photo["media_id"])
        label = f"{name} photo {photo['media_id']}"
        if media is None or media.message_id != message.id:
            problems.append(f"{label}: no longer in the database")
            continue
        _compare(problems, f"{label} database SHA-256", photo["sha256"], media.sha256)
        _compare(problems, f"{label} PDQ", photo["pdq"], media.pdq)
        if photo["status"] == "stored":
            _compare(problems, f"{label} stored bytes in the evidence store ({media.stored_path})", photo["sha256"],
                     _stored_sha256(store, media.stored_path))
    return problems


def verify_report(session: Session, evidence_dir: Path, report: dict[str, Any]) -> list[str]:
    """Every mismatch between the report, the database and the evidence store (empty: all match)."""
    store = EvidenceStore(evidence_dir)
    problems: list[str] = []
    if content_sha256(report) != report["integrity"]["content_sha256"]:
        problems.append(f"report {report['case']['ref']}: its content changed after it was written "
                        f"(content SHA-256 {content_sha256(report)}, recorded {report['integrity']['content_sha256']})")
    exports = {m["export_file"]["id"]: m["export_file"] for m in report["messages"]}
    exports.update({e["id"]: e for e in report["chain_of_custody"]["exports"]})
    for entry in sorted(exports.values(), key=lambda e: e["id"]):
        problems += _check_export(session, store, entry)
    for entry in report["messages"]:
        problems += _check_message(session, store, entry)
    return problems
