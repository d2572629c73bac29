"""Linking (detector/link/) as reports see it: the messages of a cluster or an entity, and a message's links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.link.queries import cluster_message_ids, entity_message_ids
from detector.schema import ClusterMember, Entity, EntityMember

__all__ = ["cluster_message_ids", "entity_message_ids", "message_links"]


def message_links(session: Session, message_id: int) -> dict[str, Any]:
    """The message's near-duplicate cluster and linked entities (empty when linking has not run here)."""
    cluster_id = session.scalar(select(ClusterMember.cluster_id).where(ClusterMember.message_id == message_id))
    entities = session.execute(select(Entity.id, Entity.kind, Entity.key)
                               .join(EntityMember, EntityMember.entity_id == Entity.id)
                               .where(EntityMember.message_id == message_id).order_by(Entity.kind, Entity.id)).all()
    return {"cluster_id": cluster_id, "entities": [{"id": i, "kind": k, "key": key} for i, k, key in entities]}
