"""Follow-ups to alerts already delivered: a retraction when a confirmation is withdrawn, an update
when what the partner was told about an item changes (a new edit, a new score, a case or TLP).

Every partner that received an item hears of it, by its own channel, one retraction and one update
delivery per partner per pass. A retracted item that is confirmed again goes out as an update
(`"reinstated": true`). Withdrawn items in a delivery not yet sent are withheld by the outbox instead.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.review import referable_message_ids
from detector.schema import AlertedMessage, Delivery, Message, Partner

from .alerts import alert_item, candidates, cleared_for, facts_sha256, queue_delivery, receiving_partners
from .build import iso

RETRACTION_NOTE = ("These items are withdrawn: after review they are no longer considered sale listings. "
                   "Do not act on the earlier alert about them; delete or mark the copies you keep.")
UPDATE_NOTE = "What we told you about these items has changed; the items below replace the earlier versions."


def _retraction_item(row: AlertedMessage, message: Message, first: Delivery) -> dict[str, Any]:
    return {"message_id": message.id, "external_id": message.external_id, "raw_sha256": message.raw_sha256,
            "first_alert": {"delivery_id": first.uid, "sent_utc": iso(first.sent_at)},
            "withdrawn": "the confirmation was withdrawn by a reviewer"}


def _delivered(session: Session, partner: Partner) -> list[Any]:
    """(AlertedMessage, Delivery) rows of the items already delivered to the partner."""
    return list(session.execute(
        select(AlertedMessage, Delivery).join(Delivery, Delivery.id == AlertedMessage.delivery_id)
        .where(AlertedMessage.partner_id == partner.id, Delivery.status == "sent")
        .order_by(AlertedMessage.message_id)).all())


def plan_followups(session: Session, actor: str, now: datetime | None = None) -> list[Delivery]:
    """Queue retractions and updates for items already delivered to partners; returns the deliveries."""
    now = now or datetime.now(timezone.utc)
    referable = set(referable_message_ids(session))
    queued: list[Delivery] = []
    for partner in receiving_partners(session):
        delivered = _delivered(session, partner)
        withdrawn = [(row, first) for row, first in delivered if row.message_id not in referable and row.retracted_at is None]
        if withdrawn:
            messages = {m.id: m for m in session.scalars(select(Message).where(
                Message.id.in_([row.message_id for row, _ in withdrawn])))}
            items = [_retraction_item(row, messages[row.message_id], first) for row, first in withdrawn]
            queued.append(queue_delivery(session, actor, partner, "retraction", items, now,
                                         extra={"note": RETRACTION_NOTE}))
            for row, _ in withdrawn:
                row.retracted_at = now
        live = {row.message_id: row for row, _ in delivered if row.message_id in referable}
        changed = []
        for candidate in candidates(session, sorted(live)):
            row, item = live[candidate.message.id], alert_item(candidate)
            digest = facts_sha256(item)
            if row.facts_sha256 is None and row.retracted_at is None:
                row.facts_sha256 = digest  # alerted before facts were kept: remember them, say nothing
            elif (row.retracted_at is not None or digest != row.facts_sha256) and cleared_for(partner, candidate.tlp):
                changed.append({**item, "reinstated": row.retracted_at is not None})
                row.facts_sha256, row.retracted_at = digest, None
        if changed:
            queued.append(queue_delivery(session, actor, partner, "update", changed, now, extra={"note": UPDATE_NOTE}))
    return queued
