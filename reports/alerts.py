"""Which confirmed and reviewed listings go to which partner, and when (the outbox is filled here).

Suspected minors (an age signal marked minor, or an analyst's `minor` tag) are sent at once,
one alert each; everything else waits for the partner's daily digest. Each message alerts a
partner once (`AlertedMessage`), whatever the number of runs. Alerts carry the redacted text
and the hashes, never photos: the full report is a separate, audited export.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from detector.schema import AlertedMessage, AuditEvent, Delivery, Label, Message, Partner, Score
from detector.review import referable_message_ids

from .build import LEAD_NOTICE, iso
from .partners import SEVERITIES
from .redact import Masks, redact_message

ALERT_TLP = "AMBER"
HIGH_SCORE, MEDIUM_SCORE = 0.8, 0.5


@dataclass(frozen=True)
class Candidate:
    """A referable message as alerts see it."""

    message: Message
    minor: bool
    severity: str
    places: frozenset[str]
    probability: float | None
    model_version: str | None


def is_minor(signals: list[dict[str, Any]] | None, tags: set[str]) -> bool:
    """A suspected minor: an age signal marked minor, or an analyst's `minor` tag."""
    return "minor" in tags or any(
        s.get("type") == "age" and isinstance(s.get("value"), dict) and s["value"].get("minor") for s in signals or [])


def severity(minor: bool, probability: float | None) -> str:
    """critical for a suspected minor; otherwise high, medium or low by the model's score."""
    if minor:
        return "critical"
    p = probability or 0.0
    return "high" if p >= HIGH_SCORE else "medium" if p >= MEDIUM_SCORE else "low"


def candidates(session: Session, message_ids: list[int]) -> list[Candidate]:
    if not message_ids:
        return []
    tags: dict[int, set[str]] = {}
    for mid, label_tags in session.execute(select(Label.message_id, Label.tags).where(Label.message_id.in_(message_ids))):
        tags.setdefault(mid, set()).update(label_tags or [])
    scores: dict[int, Score] = {}
    for score in session.scalars(select(Score).where(Score.message_id.in_(message_ids)).order_by(Score.created_at, Score.id)):
        scores[score.message_id] = score
    messages = session.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)
                               .options(selectinload(Message.source), selectinload(Message.export_file))).all()
    out = []
    for m in messages:
        minor = is_minor(m.signals, tags.get(m.id, set()))
        score = scores.get(m.id)
        places = frozenset(str(s.get("value")).lower() for s in m.signals or [] if s.get("type") == "place")
        probability = score.probability if score else None
        out.append(Candidate(m, minor, severity(minor, probability), places, probability,
                             score.model_version if score else None))
    return out


def wanted_by(partner: Partner, candidate: Candidate) -> bool:
    """The partner's filters: languages, places (any match) and minimum severity."""
    if partner.languages and (candidate.message.language or "") not in partner.languages:
        return False
    if partner.places and not candidate.places & {p.lower() for p in partner.places}:
        return False
    return SEVERITIES.index(candidate.severity) >= SEVERITIES.index(partner.min_severity)


def alert_item(candidate: Candidate) -> dict[str, Any]:
    """One message as partners receive it (redacted text, hashes, no photos)."""
    m = candidate.message
    text, signals = redact_message(m.text, list(m.signals or []), Masks.from_values([]))
    return {
        "message_id": m.id, "platform": m.source.platform, "channel": m.source.name, "channel_id": m.source.chat_id,
        "external_id": m.external_id, "sent_utc": iso(m.sent_at), "language": m.language,
        "severity": candidate.severity, "suspected_minor": candidate.minor, "places": sorted(candidate.places),
        "text": text, "signals": signals, "raw_sha256": m.raw_sha256, "export_file_sha256": m.export_file.sha256,
        "model_version": candidate.model_version,
        "score": round(candidate.probability, 4) if candidate.probability is not None else None,
    }


def payload(kind: str, key: str, partner: Partner, items: list[dict[str, Any]], now: datetime) -> str:
    """The alert body (JSON), fixed when queued so every retry sends the same bytes."""
    body = {"type": kind, "delivery_key": key, "partner": partner.name, "created_at": iso(now), "tlp": ALERT_TLP,
            "notice": LEAD_NOTICE, "items": items}
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def _queue(session: Session, partner: Partner, kind: str, key: str, chosen: list[Candidate], now: datetime) -> Delivery:
    delivery = Delivery(partner_id=partner.id, key=key, kind=kind, created_at=now, next_attempt_at=now,
                        body=payload(kind, key, partner, [alert_item(c) for c in chosen], now))
    session.add(delivery)
    session.flush()
    session.add_all(AlertedMessage(partner_id=partner.id, message_id=c.message.id, delivery_id=delivery.id) for c in chosen)
    session.add(AuditEvent(actor="alerts", action="delivery_queued", object_type="delivery", object_id=str(delivery.id),
                           after={"partner": partner.name, "kind": kind, "key": key,
                                  "messages": [c.message.id for c in chosen]}))
    return delivery


def plan_alerts(session: Session, now: datetime | None = None, *, digest: bool = False) -> list[Delivery]:
    """Queue immediate alerts for suspected minors, and (when `digest`) each partner's daily digest."""
    now = now or datetime.now(timezone.utc)
    referable = referable_message_ids(session)
    queued: list[Delivery] = []
    for partner in session.scalars(select(Partner).where(Partner.active.is_(True)).order_by(Partner.id)):
        sent = set(session.scalars(select(AlertedMessage.message_id).where(AlertedMessage.partner_id == partner.id)))
        fresh = [c for c in candidates(session, [i for i in referable if i not in sent]) if wanted_by(partner, c)]
        for c in (c for c in fresh if c.minor):
            queued.append(_queue(session, partner, "immediate", f"immediate:{c.message.id}", [c], now))
        rest = [c for c in fresh if not c.minor]
        key = f"digest:{now.date().isoformat()}"
        if digest and rest and session.scalar(select(Delivery.id).where(
                Delivery.partner_id == partner.id, Delivery.key == key)) is None:
            queued.append(_queue(session, partner, "digest", key, rest, now))
    return queued


def queue_test(session: Session, partner: Partner, now: datetime | None = None) -> Delivery:
    """A test alert with no message in it."""
    now = now or datetime.now(timezone.utc)
    return _queue(session, partner, "test", f"test:{iso(now)}", [], now)
