"""Reading links back: a message's cluster and entities, the members of each, with scores and labels.

`cluster_message_ids` and `entity_message_ids` are what a case is opened from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..schema import Cluster, ClusterMember, Entity, EntityMember, Label, Message, Score, Source
from .template import common_template, varying_values

SHOWN_MEMBERS = 200


def cluster_message_ids(session: Session, cluster_id: int) -> list[int]:
    """Every message of a near-duplicate cluster, in id order."""
    return list(session.scalars(select(ClusterMember.message_id).where(ClusterMember.cluster_id == cluster_id)
                                .order_by(ClusterMember.message_id)))


def entity_message_ids(session: Session, entity_id: int) -> list[int]:
    """Every message carrying an entity (phone, account, photo), in id order."""
    return list(session.scalars(select(EntityMember.message_id).where(EntityMember.entity_id == entity_id)
                                .order_by(EntityMember.message_id)))


@dataclass
class MemberRow:
    """One message as listed on a cluster or entity page."""

    id: int
    channel: str
    platform: str
    sent_at: datetime | None
    text: str
    language: str | None
    probability: float | None
    label: str | None
    queued: bool = False  # flagged by its latest score, so the queue has an item page for it
    via: str = ""


@dataclass
class ClusterView:
    cluster: Cluster
    members: list[MemberRow]
    template: str
    varying: dict[str, list[str]]
    channels: int


@dataclass
class EntityView:
    entity: Entity
    members: list[MemberRow]
    channels: int


@dataclass
class ItemLinks:
    """What the queue's item page shows: the message's cluster (others in it) and its entities."""

    cluster: Cluster | None = None
    others: list[MemberRow] = field(default_factory=list)
    entities: list[tuple[Entity, int]] = field(default_factory=list)  # (entity, channels)


def _rows(session: Session, message_ids: list[int], via: dict[int, str] | None = None) -> list[MemberRow]:
    if not message_ids:
        return []
    latest_score = (select(Score.message_id, func.max(Score.id).label("sid")).where(Score.message_id.in_(message_ids))
                    .group_by(Score.message_id).subquery())
    scores = {m: (p, f) for m, p, f in session.execute(select(Score.message_id, Score.probability, Score.flagged)
                                                        .join(latest_score, latest_score.c.sid == Score.id))}
    latest_label = (select(Label.message_id, func.max(Label.id).label("lid")).where(Label.message_id.in_(message_ids))
                    .group_by(Label.message_id).subquery())
    decision = dict(session.execute(select(Label.message_id, Label.decision)
                                    .join(latest_label, latest_label.c.lid == Label.id)).all())
    rows = session.execute(select(Message, Source).join(Source, Source.id == Message.source_id)
                           .where(Message.id.in_(message_ids))).all()
    out = [MemberRow(m.id, s.name or s.chat_id, s.platform, m.sent_at, m.text, m.language,
                     scores.get(m.id, (None, False))[0], decision.get(m.id), bool(scores.get(m.id, (None, False))[1]),
                     (via or {}).get(m.id, "")) for m, s in rows]
    return sorted(out, key=lambda r: (r.sent_at is None, r.sent_at or datetime.min, r.id))


def cluster_view(session: Session, cluster_id: int) -> ClusterView:
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        raise NotFoundError(f"no cluster {cluster_id}")
    members = _rows(session, cluster_message_ids(session, cluster_id)[:SHOWN_MEMBERS])
    signals = session.scalars(select(Message.signals).where(Message.id.in_([m.id for m in members]))).all()
    return ClusterView(cluster, members, common_template([m.text for m in members]), varying_values(signals),
                       len({m.channel for m in members}))


def entity_view(session: Session, entity_id: int) -> EntityView:
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFoundError(f"no entity {entity_id}")
    via = dict(session.execute(select(EntityMember.message_id, EntityMember.via)
                               .where(EntityMember.entity_id == entity_id)).all())
    members = _rows(session, sorted(via)[:SHOWN_MEMBERS], via)
    return EntityView(entity, members, len({m.channel for m in members}))


def item_links(session: Session, message_id: int) -> ItemLinks:
    """The message's cluster with its other members, and its entities shared with other messages."""
    links = ItemLinks()
    cluster_id = session.scalar(select(ClusterMember.cluster_id).where(ClusterMember.message_id == message_id))
    if cluster_id is not None:
        links.cluster = session.get(Cluster, cluster_id)
        others = [m for m in cluster_message_ids(session, cluster_id) if m != message_id]
        links.others = _rows(session, others[:SHOWN_MEMBERS])
    entities = session.scalars(select(Entity).join(EntityMember, EntityMember.entity_id == Entity.id)
                               .where(EntityMember.message_id == message_id, Entity.size > 1)
                               .order_by(Entity.kind, Entity.id)).all()
    for entity in entities:
        channels = session.scalar(select(func.count(func.distinct(Message.source_id)))
                                  .join(EntityMember, EntityMember.message_id == Message.id)
                                  .where(EntityMember.entity_id == entity.id))
        links.entities.append((entity, int(channels or 0)))
    return links


def describe_entity(entity: Entity) -> str:
    """A short human name: '+9647705550199', '@name', '3f2a9c01d2e4…' (a photo's first SHA-256)."""
    if entity.kind == "telegram":
        return f"@{entity.key}"
    if entity.kind == "photo":
        return f"{entity.key[:12]}…"
    return entity.key


ENTITY_TITLES: dict[str, Any] = {
    "phone": "Phone number", "telegram": "Telegram account", "telegram_invite": "Telegram invite link",
    "whatsapp_group": "WhatsApp group", "email": "E-mail address", "photo": "Photo",
}
