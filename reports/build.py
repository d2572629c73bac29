"""The content of a referral report, as plain data (the JSON report; HTML, PDF and CSV render it).

Everything a partner or a court needs to rely on a message: where and when it was posted,
its original text, what the model and the people said, SHA-256 hashes of the message's raw
bytes, of its export file and of each photo, and the chain of custody from the audit log.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from detector import __version__
from detector.hashing import sha256_bytes
from detector.schema import AuditEvent, Case, ExportFile, Label, Message, Score
from detector.text.display import text_direction

from .links import message_links
from .redact import REDACTION_NOTE, Masks, mask_names, masked_entities, masked_phones, phone_mask, redact_message

FORMAT = "detector-referral-report/2"  # /2: received export names, signing key, verify vs database
LEAD_NOTICE = (
    "This report is a lead for investigation, not a finding. It records what was posted online and what "
    "analysts concluded; every fact in it must be verified independently before anyone acts on it."
)
PHOTO_NOTES = {
    "blurred": "Photos are blurred copies; the originals stay in the evidence store and match the SHA-256 given.",
    "original": "Photos are shown in the original, at the explicit request of the person exporting this report.",
    "none": "Photos are left out; their SHA-256 and PDQ hashes identify them in the evidence store.",
}


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def text_sha256(text: str) -> str:
    return sha256_bytes(text.encode("utf-8"))


def content_sha256(report: dict[str, Any]) -> str:
    """SHA-256 of the report's canonical JSON without its `integrity` member."""
    body = {k: v for k, v in report.items() if k != "integrity"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return sha256_bytes(canonical.encode("utf-8"))


def received_name(name: str) -> str:
    """An export's name as received, without the folders of the machine that received it.

    `/srv/inbox/result.json` gives `result.json`; a zip member `/srv/inbox/chat.zip/_chat.txt`
    gives `chat.zip/_chat.txt` (the member path inside the zip is kept).
    """
    parts = name.replace("\\", "/").split("/")
    zips = [i for i, part in enumerate(parts[:-1]) if part.lower().endswith(".zip")]
    return "/".join(parts[zips[0]:] if zips else parts[-1:])


def _export(export: ExportFile) -> dict[str, Any]:
    return {"id": export.id, "name": received_name(export.name), "format": export.format, "size": export.size,
            "sha256": export.sha256, "ingested_at": iso(export.ingested_at), "ingested_by": export.ingested_by}


def _decision(label: Label, masks: Masks | None) -> dict[str, Any]:
    note = mask_names(label.note, masks) if masks else label.note
    return {"user": label.user.name, "role": label.role, "decision": label.decision, "tags": list(label.tags or []),
            "note": note, "at": iso(label.created_at)}


def message_entry(session: Session, message: Message, translation: str, masks: Masks | None,
                  photos: str) -> dict[str, Any]:
    """One message of a report as the database holds it now (redacted when `masks` is given)."""
    labels = session.scalars(select(Label).where(Label.message_id == message.id)
                             .options(selectinload(Label.user)).order_by(Label.created_at, Label.id)).all()
    score = session.scalar(select(Score).where(Score.message_id == message.id)
                           .order_by(Score.created_at.desc(), Score.id.desc()).limit(1))
    text, signals = message.text, list(message.signals or [])
    links = message_links(session, message.id)
    if masks is not None:
        phones = masked_phones(text, signals, masks)
        text, cleaned = redact_message(text, signals, masks)
        contacts = masked_entities(signals, cleaned)
        links["entities"] = [{**e, "key": (phone_mask(e["key"], phones) or e["key"]) if e["kind"] == "phone"
                              else contacts.get((e["kind"], e["key"]), mask_names(e["key"], masks))}
                             for e in links["entities"]]
        signals = cleaned
        translation = mask_names(translation, masks)
    stored = [m for m in message.media if m.kind == "photo"]
    return {
        "message_id": message.id,
        "external_id": message.external_id,
        "platform": message.source.platform,
        "channel": {"name": message.source.name, "id": message.source.chat_id, "type": message.source.type},
        "sender": {"name": message.sender_name, "id": message.sender_id},
        "sent_local": message.sent_local,
        "sent_utc": iso(message.sent_at),
        "edited_utc": iso(message.edited_at),
        "forwarded_from": message.forwarded_from,
        "language": message.language,
        "direction": "rtl" if text_direction(message.language) == "rtl" else "auto",
        "text": text,
        "translation": translation,
        "signals": signals,
        "links": links,
        "hashes": {"raw_sha256": message.raw_sha256, "text_sha256": text_sha256(message.text)},
        "export_file": _export(message.export_file),
        "versions": [{"version": v.version, "raw_sha256": v.raw_sha256, "export_file_id": v.export_file_id,
                      "seen_at": iso(v.seen_at)} for v in message.history],
        "photos": [{"media_id": m.id, "status": m.status, "mime": m.mime, "size": m.size, "sha256": m.sha256,
                    "pdq": m.pdq, "shown": photos if m.status == "stored" else "none"} for m in stored],
        "score": None if score is None else {
            "model_version": score.model_version, "probability": round(score.probability, 6), "tier": score.tier,
            "flagged": score.flagged, "at": iso(score.created_at)},
        "decisions": [_decision(label, masks) for label in labels],
        "reviewers": sorted({lab.user.name for lab in labels if lab.role == "reviewer" and lab.decision == "listing"}),
    }


def custody_events(session: Session, case: Case, message_ids: list[int]) -> list[dict[str, Any]]:
    """Every audit event on this case (opening, views, exports) and on its messages (decisions, photo views)."""
    events = session.scalars(select(AuditEvent).where(or_(
        (AuditEvent.object_type == "case") & (AuditEvent.object_id == case.ref),
        (AuditEvent.object_type == "message") & AuditEvent.object_id.in_([str(i) for i in message_ids]),
    )).order_by(AuditEvent.at, AuditEvent.id)).all()
    return [{"at": iso(e.at), "actor": e.actor, "action": e.action, "object": f"{e.object_type} {e.object_id}"}
            for e in events]


def build_report(session: Session, case: Case, *, actor: str, redact: bool = False, photos: str = "blurred",
                 now: datetime | None = None, pending_events: list[dict[str, Any]] | None = None,
                 signing_key: str | None = None) -> dict[str, Any]:
    """The report of a case as plain data (valid against reports/report.schema.json).

    `pending_events` are custody events written only after the report renders (its own export), listed last;
    `signing_key` is the fingerprint of the key that signs the bundle carrying the report (None: unsigned).
    """
    if redact and photos == "original":
        photos = "blurred"  # originals never go into a redacted report
    masks = Masks.from_values(case.masked) if redact else None
    translations = {m.message_id: m.translation for m in case.messages}
    ids = sorted(translations)
    messages = session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.sent_at, Message.id)
                               .options(selectinload(Message.media), selectinload(Message.stored_versions),
                                        selectinload(Message.source), selectinload(Message.export_file))).all()
    entries = [message_entry(session, m, translations[m.id], masks, photos) for m in messages]
    exports = {e["export_file"]["id"]: e["export_file"] for e in entries}
    report: dict[str, Any] = {
        "format": FORMAT,
        "case": {"ref": case.ref, "tlp": case.tlp, "summary": mask_names(case.summary, masks) if masks else case.summary,
                 "opened_at": iso(case.created_at), "opened_by": case.created_by, "cluster_id": case.cluster_id,
                 "entity_ids": list(case.entity_ids or [])},
        "generated": {"at": iso(now or datetime.now(timezone.utc)), "by": actor, "tool": f"detector {__version__}",
                      "signing_key": signing_key},
        "notice": LEAD_NOTICE,
        "redaction": {"redacted": redact, "photos": photos,
                      "explanation": (REDACTION_NOTE + " " if redact else "Not redacted: for the named partner only. ")
                      + PHOTO_NOTES[photos]},
        "messages": entries,
        "chain_of_custody": {
            "exports": sorted(exports.values(), key=lambda e: e["id"]),
            "events": custody_events(session, case, ids) + list(pending_events or []),
        },
    }
    report["integrity"] = {"algorithm": "sha256", "content_sha256": content_sha256(report)}
    return report
