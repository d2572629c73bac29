"""Which confirmed and reviewed listings go to which partner, and when (the outbox is filled here).

Suspected minors (an age signal marked minor, or an analyst's `minor` tag) are sent at once:
one immediate alert per partner per pass, listing every new item; everything else waits for
the partner's daily digest. Each message alerts a partner once (`AlertedMessage`), whatever the
number of runs. Alerts carry the redacted text (victims' names found after a cue and every value
analysts masked on a case of the message are withheld) and the hashes, never photos; each item
names its cases and TLP, and a partner only hears of items at or below its TLP maximum.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from detector.schema import AlertedMessage, AuditEvent, Case, CaseMessage, Delivery, Label, Message, Partner, Score
from detector.review import referable_message_ids

from .build import LEAD_NOTICE, iso
from .cases import TLP, strictest
from .partners import SEVERITIES
from .redact import alert_masks, redact_message

DEFAULT_TLP = "AMBER"  # an item in no case yet
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
    cases: tuple[str, ...] = ()
    tlp: str = DEFAULT_TLP
    masked: tuple[str, ...] = ()


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


def _cases_of(session: Session, message_ids: list[int]) -> dict[int, list[Case]]:
    out: dict[int, list[Case]] = {}
    rows = session.execute(select(CaseMessage.message_id, Case).join(Case, Case.id == CaseMessage.case_id)
                           .where(CaseMessage.message_id.in_(message_ids)).order_by(Case.id))
    for mid, case in rows:
        out.setdefault(mid, []).append(case)
    return out


def candidates(session: Session, message_ids: list[int]) -> list[Candidate]:
    """The messages with what alerts need: severity, places, score, cases, TLP and masked values."""
    if not message_ids:
        return []
    tags: dict[int, set[str]] = {}
    for mid, label_tags in session.execute(select(Label.message_id, Label.tags).where(Label.message_id.in_(message_ids))):
        tags.setdefault(mid, set()).update(label_tags or [])
    scores: dict[int, Score] = {}
    for stored in session.scalars(select(Score).where(Score.message_id.in_(message_ids)).order_by(Score.created_at, Score.id)):
        scores[stored.message_id] = stored
    cases = _cases_of(session, message_ids)
    messages = session.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)
                               .options(selectinload(Message.source), selectinload(Message.export_file))).all()
    out = []
    for m in messages:
        minor = is_minor(m.signals, tags.get(m.id, set()))
        score = scores.get(m.id)
        places = frozenset(str(s.get("value")).lower() for s in m.signals or [] if s.get("type") == "place")
        probability = score.probability if score else None
        own = cases.get(m.id, [])
        out.append(Candidate(m, minor, severity(minor, probability), places, probability,
                             score.model_version if score else None, tuple(c.ref for c in own),
                             strictest((c.tlp for c in own), DEFAULT_TLP),
                             tuple(sorted({v for c in own for v in c.masked or []}))))
    return out


def cleared_for(partner: Partner, tlp: str) -> bool:
    """A partner receives items marked at most its TLP maximum."""
    return TLP.index(tlp) <= TLP.index(partner.max_tlp)


def wanted_by(partner: Partner, candidate: Candidate) -> bool:
    """The partner's filters: TLP maximum, languages, places (any match) and minimum severity."""
    if not cleared_for(partner, candidate.tlp):
        return False
    if partner.languages and (candidate.message.language or "") not in partner.languages:
        return False
    if partner.places and not candidate.places & {p.lower() for p in partner.places}:
        return False
    return SEVERITIES.index(candidate.severity) >= SEVERITIES.index(partner.min_severity)


def alert_item(candidate: Candidate) -> dict[str, Any]:
    """One message as partners receive it (redacted text, hashes, cases and TLP, no photos)."""
    m = candidate.message
    text, signals = redact_message(m.text, list(m.signals or []), alert_masks(m.text, candidate.masked))
    return {
        "message_id": m.id, "platform": m.source.platform, "channel": m.source.name, "channel_id": m.source.chat_id,
        "external_id": m.external_id, "sent_utc": iso(m.sent_at), "language": m.language,
        "severity": candidate.severity, "suspected_minor": candidate.minor, "places": sorted(candidate.places),
        "text": text, "signals": signals, "raw_sha256": m.raw_sha256, "export_file_sha256": m.export_file.sha256,
        "model_version": candidate.model_version,
        "score": round(candidate.probability, 4) if candidate.probability is not None else None,
        "cases": list(candidate.cases), "tlp": candidate.tlp,
    }


def facts_sha256(item: dict[str, Any]) -> str:
    """A digest of what the partner was told about an item (an update goes out when it changes)."""
    return hashlib.sha256(json.dumps(item, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def payload(kind: str, key: str, uid: str, partner: Partner, items: list[dict[str, Any]], now: datetime,
            extra: dict[str, Any] | None = None) -> str:
    """The alert body (JSON), fixed when queued so every retry sends the same bytes."""
    body = {"type": kind, "delivery_id": uid, "delivery_key": key, "partner": partner.name, "created_at": iso(now),
            "tlp": strictest((i["tlp"] for i in items if "tlp" in i), DEFAULT_TLP),
            "cases": sorted({ref for i in items for ref in i.get("cases", [])}), "notice": LEAD_NOTICE,
            "items": items, **(extra or {})}
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def queue_delivery(session: Session, actor: str, partner: Partner, kind: str, items: list[dict[str, Any]],
                   now: datetime, *, key: str | None = None, extra: dict[str, Any] | None = None) -> Delivery:
    """Put one delivery in the outbox (with its global id) and audit it."""
    uid = str(uuid4())
    key = key or f"{kind}:{uid}"
    delivery = Delivery(partner_id=partner.id, key=key, uid=uid, kind=kind, created_at=now, next_attempt_at=now,
                        body=payload(kind, key, uid, partner, items, now, extra))
    session.add(delivery)
    session.flush()
    session.add(AuditEvent(actor=actor, action="delivery_queued", object_type="delivery", object_id=str(delivery.id),
                           after={"partner": partner.name, "kind": kind, "key": key, "uid": uid,
                                  "messages": [i["message_id"] for i in items]}))
    return delivery


def _queue(session: Session, actor: str, partner: Partner, kind: str, chosen: list[Candidate], now: datetime,
           key: str | None = None) -> Delivery:
    items = [alert_item(c) for c in chosen]
    delivery = queue_delivery(session, actor, partner, kind, items, now, key=key)
    session.add_all(AlertedMessage(partner_id=partner.id, message_id=i["message_id"], delivery_id=delivery.id,
                                   facts_sha256=facts_sha256(i)) for i in items)
    return delivery


def receiving_partners(session: Session) -> list[Partner]:
    """Partners that are active and not removed, in a stable order."""
    return list(session.scalars(select(Partner).where(Partner.active.is_(True), Partner.removed_at.is_(None))
                                .order_by(Partner.id)))


def plan_alerts(session: Session, actor: str, now: datetime | None = None, *, digest: bool = False) -> list[Delivery]:
    """Queue one immediate alert per partner listing every new suspected minor, and (when `digest`) each
    partner's daily digest of the rest."""
    now = now or datetime.now(timezone.utc)
    referable = referable_message_ids(session)
    queued: list[Delivery] = []
    for partner in receiving_partners(session):
        sent = set(session.scalars(select(AlertedMessage.message_id).where(AlertedMessage.partner_id == partner.id)))
        fresh = [c for c in candidates(session, [i for i in referable if i not in sent]) if wanted_by(partner, c)]
        minors = [c for c in fresh if c.minor]
        if minors:
            queued.append(_queue(session, actor, partner, "immediate", minors, now))
        rest = [c for c in fresh if not c.minor]
        key = f"digest:{now.date().isoformat()}"
        if digest and rest and session.scalar(select(Delivery.id).where(
                Delivery.partner_id == partner.id, Delivery.key == key)) is None:
            queued.append(_queue(session, actor, partner, "digest", rest, now, key))
    return queued


def queue_test(session: Session, actor: str, partner: Partner, now: datetime | None = None) -> Delivery:
    """A test alert with no message in it."""
    now = now or datetime.now(timezone.utc)
    return queue_delivery(session, actor, partner, "test", [], now)
