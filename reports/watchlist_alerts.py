"""Watchlist alerts: each match of a listing photo with a watchlist entry is told to the list's owner, once.

One delivery per match (kind `watchlist`, retried as fast as a minor's alert), queued in the first
alert pass where the message is confirmed and reviewed (only referable messages ever leave; a match
makes its message a critical queue item, so review comes first) and its TLP is within the owner's
maximum. The owner's language, place and severity filters do not apply: it asked for these people.
The item is the partner alerts' own (`alerts.alert_item`: victims' names and every value masked on
a case withheld) and `watchlist_match` names this list, this entry's reference, the distance and the
variant only: never another list's reference, never a photo. The owner then counts as alerted of the
message, so retractions and updates follow as for any alert, and no digest repeats it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.link.photos import MAX_DISTANCE
from detector.review import referable_message_ids
from detector.schema import AlertedMessage, Delivery, Media, Watchlist, WatchlistEntry, WatchlistMatch

from .alerts import alert_item, candidates, cleared_for, facts_sha256, queue_delivery, receiving_partners
from .build import iso

KIND = "watchlist"
KEY_PREFIX = "watchlist:"  # watchlist:<match id>:<n>, n counting the deliveries withheld before


def match_key(match_id: int, attempt: int) -> str:
    return f"{KEY_PREFIX}{match_id}:{attempt}"


def match_id_of(key: str) -> int:
    return int(key.removeprefix(KEY_PREFIX).split(":")[0])


def match_facts(match: WatchlistMatch, reference: str, watchlist: str, photo_sha256: str | None) -> dict[str, Any]:
    """What the owner learns of its own entry's match (hashes and names of ours, no photo)."""
    return {"watchlist": watchlist, "reference": reference, "distance": match.distance, "max_distance": MAX_DISTANCE,
            "variant": match.variant, "matched_utc": iso(match.matched_at), "listing_photo_sha256": photo_sha256}


def _told(session: Session, partner_ids: list[int]) -> tuple[set[tuple[int, int]], Counter[tuple[int, int]]]:
    """(partner, match) pairs with a live watchlist delivery, and how many deliveries each pair has had."""
    live: set[tuple[int, int]] = set()
    tries: Counter[tuple[int, int]] = Counter()
    for partner_id, key, status in session.execute(select(Delivery.partner_id, Delivery.key, Delivery.status).where(
            Delivery.partner_id.in_(partner_ids), Delivery.kind == KIND)):
        pair = (partner_id, match_id_of(key))
        tries[pair] += 1
        if status != "withheld":  # withheld: the confirmation was withdrawn before sending; told afresh later
            live.add(pair)
    return live, tries


def plan_watchlist_alerts(session: Session, actor: str, now: datetime | None = None) -> list[Delivery]:
    """Queue one `watchlist` delivery to the owner for every match not told yet whose message may leave."""
    now = now or datetime.now(timezone.utc)
    owners = {p.id: p for p in receiving_partners(session)}
    rows = session.execute(
        select(WatchlistMatch, WatchlistEntry.reference, Watchlist.name, Watchlist.owner_id, Media.sha256)
        .join(WatchlistEntry, WatchlistEntry.id == WatchlistMatch.entry_id)
        .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
        .join(Media, Media.id == WatchlistMatch.media_id)
        .where(Watchlist.owner_id.in_(list(owners))).order_by(WatchlistMatch.id)).all()
    live, tries = _told(session, list(owners))
    rows = [r for r in rows if (r.owner_id, r[0].id) not in live]
    referable = set(referable_message_ids(session)) if rows else set()
    rows = [r for r in rows if r[0].message_id in referable]
    if not rows:
        return []
    found = {c.message.id: c for c in candidates(session, sorted({r[0].message_id for r in rows}))}
    alerted = {(row.partner_id, row.message_id) for row in session.execute(
        select(AlertedMessage.partner_id, AlertedMessage.message_id).where(
            AlertedMessage.partner_id.in_(list(owners)), AlertedMessage.message_id.in_(list(found))))}
    queued = []
    for match, reference, watchlist, owner_id, photo_sha256 in rows:
        owner, candidate = owners[owner_id], found[match.message_id]
        if not cleared_for(owner, candidate.tlp):
            continue
        item = alert_item(candidate)
        delivery = queue_delivery(session, actor, owner, KIND, [item], now,
                                  key=match_key(match.id, tries[(owner_id, match.id)] + 1),
                                  extra={"watchlist_match": match_facts(match, reference, watchlist, photo_sha256)})
        queued.append(delivery)
        if (owner_id, match.message_id) not in alerted:
            alerted.add((owner_id, match.message_id))
            session.add(AlertedMessage(partner_id=owner_id, message_id=match.message_id, delivery_id=delivery.id,
                                       facts_sha256=facts_sha256(item)))
    return queued
