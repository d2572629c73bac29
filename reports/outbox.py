"""The delivery outbox: send what is due, retry failures with exponential backoff, lose nothing.

A delivery is claimed before it is sent (a conditional UPDATE, so two workers never send the
same one), then marked sent, or given its next attempt time: base x 2^(attempts-1), at most
`max_seconds`, with no limit on attempts. Critical deliveries (immediate alerts about suspected
minors, retractions) retry within minutes: 15 s doubling to at most 5 minutes. Every attempt is
an AuditEvent. Just before sending, the messages in an alert are checked again: if one is no
longer confirmed and reviewed, the delivery is withheld and the others are queued afresh on the
next pass. Deliveries of a paused partner wait; those of a removed partner are withdrawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, delete, select, update
from sqlalchemy.orm import Session, selectinload

from detector.db import session_scope
from detector.errors import ConfigError
from detector.schema import AlertedMessage, AuditEvent, Delivery, Partner
from detector.review import referable_message_ids

from .partners import SecretBox
from .transport import DeliveryFailed, SmtpSettings, send

CLAIM_SECONDS = 300  # a claimed delivery is retried after this if its worker died mid-send


CRITICAL_KINDS = frozenset({"immediate", "retraction", "watchlist"})
UNCHECKED_KINDS = frozenset({"retraction", "test"})  # carry no confirmed item to check again


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 60.0
    max_seconds: float = 6 * 3600.0
    critical_base_seconds: float = 15.0
    critical_max_seconds: float = 300.0

    def delay(self, attempts: int, *, critical: bool = False) -> timedelta:
        """The wait after the `attempts`-th failure (critical deliveries: minutes at most)."""
        base, most = ((self.critical_base_seconds, self.critical_max_seconds) if critical
                      else (self.base_seconds, self.max_seconds))
        return timedelta(seconds=min(most, base * 2 ** max(0, attempts - 1)))


@dataclass
class OutboxRun:
    """What one pass over the outbox did."""

    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    withheld: list[int] = field(default_factory=list)

    def line(self) -> str:
        return f"{len(self.sent)} sent, {len(self.failed)} failed (will retry), {len(self.withheld)} withheld"


def _audit(session, actor: str, delivery: Delivery, action: str, **after: object) -> None:  # type: ignore[no-untyped-def]
    session.add(AuditEvent(actor=actor, action=action, object_type="delivery", object_id=str(delivery.id),
                           after={"partner": delivery.partner.name, "key": delivery.key, "attempt": delivery.attempts,
                                  **after}))


def _claim(engine: Engine, delivery_id: int, now: datetime) -> bool:
    with session_scope(engine) as session:
        active = select(Partner.id).where(Partner.active.is_(True), Partner.removed_at.is_(None))
        claimed = cast(CursorResult[Any], session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "pending",
                                   Delivery.next_attempt_at <= now, Delivery.partner_id.in_(active))
            .values(attempts=Delivery.attempts + 1, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))))
        return claimed.rowcount == 1


def _claimed(session: Session, delivery_id: int) -> Delivery:
    """A delivery this process claimed, with its partner (deliveries are never deleted)."""
    delivery = session.get(Delivery, delivery_id, options=[selectinload(Delivery.partner)])
    if delivery is None:
        raise LookupError(f"delivery {delivery_id} vanished after it was claimed")
    return delivery


def _withhold_if_unconfirmed(engine: Engine, actor: str, delivery_id: int) -> bool:
    with session_scope(engine) as session:
        delivery = _claimed(session, delivery_id)
        if delivery.kind in UNCHECKED_KINDS:
            return False
        ids = [item["message_id"] for item in json.loads(delivery.body).get("items", [])]
        referable = set(referable_message_ids(session)) if ids else set()
        gone = [i for i in ids if i not in referable]
        if not gone:
            return False
        delivery.status = "withheld"
        session.execute(delete(AlertedMessage).where(AlertedMessage.delivery_id == delivery.id))
        _audit(session, actor, delivery, "delivery_withheld", no_longer_confirmed=gone)
        return True


def _record(engine: Engine, actor: str, delivery_id: int, now: datetime, policy: RetryPolicy,
            error: str | None) -> None:
    with session_scope(engine) as session:
        delivery = _claimed(session, delivery_id)
        if error is None:
            delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
            _audit(session, actor, delivery, "delivery_sent", channel=delivery.partner.channel, uid=delivery.uid)
        else:
            delivery.next_attempt_at = now + policy.delay(delivery.attempts, critical=delivery.kind in CRITICAL_KINDS)
            delivery.last_error = error[:2000]
            _audit(session, actor, delivery, "delivery_failed", error=delivery.last_error,
                   next_attempt_at=delivery.next_attempt_at.isoformat())


def _secret(stored: str, box: SecretBox | None) -> str:
    if not stored:
        return ""
    if box is None:
        raise DeliveryFailed("the partner's signing secret is sealed and no partner key was given")
    try:
        return box.open(stored)
    except ConfigError as exc:
        raise DeliveryFailed(str(exc)) from exc


def deliver(engine: Engine, delivery_id: int, *, smtp: SmtpSettings, actor: str, box: SecretBox | None = None,
            policy: RetryPolicy = RetryPolicy(), now: datetime | None = None, run: OutboxRun | None = None) -> OutboxRun:
    """Try one delivery if it is due (claimed first; withheld if a message lost its confirmation);
    `box` opens the partner's signing secret."""
    now = now or datetime.now(timezone.utc)
    run = run or OutboxRun()
    if not _claim(engine, delivery_id, now):
        return run
    if _withhold_if_unconfirmed(engine, actor, delivery_id):
        run.withheld.append(delivery_id)
        return run
    with session_scope(engine) as session:
        delivery = _claimed(session, delivery_id)
        session.expunge(delivery)
    try:
        send(delivery, smtp, _secret(delivery.partner.secret, box))
    except DeliveryFailed as exc:
        _record(engine, actor, delivery_id, now, policy, str(exc))
        run.failed.append((delivery_id, str(exc)))
    else:
        _record(engine, actor, delivery_id, now, policy, None)
        run.sent.append(delivery_id)
    return run


def deliver_due(engine: Engine, *, smtp: SmtpSettings, actor: str, box: SecretBox | None = None,
                policy: RetryPolicy = RetryPolicy(), now: datetime | None = None) -> OutboxRun:
    """Send every pending delivery whose time has come, oldest first."""
    now = now or datetime.now(timezone.utc)
    with session_scope(engine) as session:
        due = list(session.scalars(select(Delivery.id).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                                   .order_by(Delivery.next_attempt_at, Delivery.id)))
    run = OutboxRun()
    for delivery_id in due:
        deliver(engine, delivery_id, smtp=smtp, actor=actor, box=box, policy=policy, now=now, run=run)
    return run
