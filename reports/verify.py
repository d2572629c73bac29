"""Check a JSON report against the database and the evidence store: every hash recomputed.

Returns one line per mismatch, naming what changed (empty when everything matches): the report
itself (its bytes against the exports this installation recorded, its case's TLP and messages),
a message's facts (text, sender, times, channel) against the database and against its own
`text_sha256`, its raw bytes (each version's), an export file or a photo. The report's unkeyed
`content_sha256` alone proves nothing: anyone who edits a report can recompute it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.errors import InputError
from detector.hashing import sha256_bytes, sha256_stream
from detector.ingest.evidence import EvidenceError, EvidenceStore
from detector.ingest.originals import original_bytes
from detector.schema import AuditEvent, Case, ExportFile, Media, Message, MessageVersion

from .build import FORMAT, content_sha256, message_entry, text_sha256
from .redact import Masks
from .schema import schema_errors

FACTS = ("external_id", "platform", "channel", "sender", "sent_local", "sent_utc", "edited_utc", "forwarded_from",
         "text")  # the hashes are compared with the stored evidence below
EXPORT_FACTS = ("name", "format", "size", "sha256")


def parse_report(data: bytes, name: str) -> dict[str, Any]:
    """A JSON report from its bytes; InputError when it is not JSON, of another format version, or off-schema."""
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(name, f"not a readable JSON report ({exc})") from exc
    found = report.get("format") if isinstance(report, dict) else None
    if isinstance(found, str) and found.startswith("detector-referral-report/") and found != FORMAT:
        raise InputError(name, f"report format {found} was written by another version of the detector; "
                               f"this one verifies {FORMAT}")
    errors = schema_errors(report)
    if errors:
        raise InputError(name, f"does not follow the report schema: {errors[0]}")
    return report


def load_report(path: Path) -> dict[str, Any]:
    """Read a JSON report file (see `parse_report`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"not a readable JSON report ({exc})") from exc
    return parse_report(data, str(path))


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


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_facts(name: str, entry: dict[str, Any], stored: dict[str, Any], redacted: bool) -> list[str]:
    """The report's facts about a message against the database's (and its text against its own hash)."""
    problems = [f"{name} {key}: report has {_short(entry[key])}, database has {_short(stored[key])}"
                for key in FACTS if entry[key] != stored[key]]
    problems += [f"{name} export file {key}: report has {_short(entry['export_file'][key])}, "
                 f"database has {_short(stored['export_file'][key])}"
                 for key in EXPORT_FACTS if entry["export_file"][key] != stored["export_file"][key]]
    if not redacted and text_sha256(entry["text"]) != entry["hashes"]["text_sha256"]:
        problems.append(f"{name} text: its SHA-256 is {text_sha256(entry['text'])}, "
                        f"the report's text_sha256 says {entry['hashes']['text_sha256']}")
    return problems


def _check_message(session: Session, store: EvidenceStore, entry: dict[str, Any], case: Case | None,
                   report: dict[str, Any]) -> list[str]:
    name = f"message {entry['message_id']} ({entry['platform']} {entry['channel']['id']} #{entry['external_id']})"
    message = session.get(Message, entry["message_id"])
    if message is None:
        return [f"{name}: no longer in the database"]
    redacted = report["redaction"]["redacted"]
    translations = {m.message_id: m.translation for m in case.messages} if case else {}
    masks = Masks.from_values(case.masked if case else []) if redacted else None
    stored = message_entry(session, message, translations.get(message.id, ""), masks, report["redaction"]["photos"])
    problems = _check_facts(name, entry, stored, redacted)
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


def exported_sha256s(session: Session, ref: str) -> set[str]:
    """SHA-256 of every file this installation recorded exporting for case `ref` (bundles: each member)."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "case", AuditEvent.object_id == ref,
                                                      AuditEvent.action == "report_export"))
    found: set[str] = set()
    for event in events:
        after = event.after or {}
        found |= {after.get("sha256"), *dict(after.get("files") or {}).values()} - {None}
    return found


def _check_case(session: Session, report: dict[str, Any], case: Case | None, data: bytes | None) -> list[str]:
    ref = report["case"]["ref"]
    if case is None:
        return [f"report {ref}: no such case in the database"]
    problems: list[str] = []
    _compare(problems, f"case {ref} TLP", report["case"]["tlp"], case.tlp)
    in_case = {m.message_id for m in case.messages}
    in_report = {m["message_id"] for m in report["messages"]}
    if in_case - in_report:
        problems.append(f"case {ref}: message(s) {', '.join(map(str, sorted(in_case - in_report)))} "
                        "of the case are missing from the report")
    if in_report - in_case:
        problems.append(f"case {ref}: message(s) {', '.join(map(str, sorted(in_report - in_case)))} "
                        "in the report are not in the case")
    if data is not None and sha256_bytes(data) not in exported_sha256s(session, ref):
        problems.append(f"report {ref}: this file (SHA-256 {sha256_bytes(data)}) is not one this installation "
                        "exported; it was changed after export")
    return problems


def verify_report(session: Session, evidence_dir: Path, report: dict[str, Any], data: bytes | None = None) -> list[str]:
    """Every mismatch between the report, the database and the evidence store (empty: all match).

    `data`, the report file's bytes, is checked against the exports this installation recorded.
    """
    store = EvidenceStore(evidence_dir)
    case = session.scalar(select(Case).where(Case.ref == report["case"]["ref"]))
    problems: list[str] = []
    if content_sha256(report) != report["integrity"]["content_sha256"]:
        problems.append(f"report {report['case']['ref']}: its content changed after it was written "
                        f"(content SHA-256 {content_sha256(report)}, recorded {report['integrity']['content_sha256']})")
    problems += _check_case(session, report, case, data)
    exports = {m["export_file"]["id"]: m["export_file"] for m in report["messages"]}
    exports.update({e["id"]: e for e in report["chain_of_custody"]["exports"]})
    for entry in sorted(exports.values(), key=lambda e: e["id"]):
        problems += _check_export(session, store, entry)
    for entry in report["messages"]:
        problems += _check_message(session, store, entry, case, report)
    return problems
