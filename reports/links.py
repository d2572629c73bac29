"""Linking (detector/link/) as reports see it: the messages of a cluster or an entity, and a message's links.

Imported only when asked for, so reports work (without links) where linking has not run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.errors import ConfigError

LINK_MODULES = ("detector.link.queries", "detector.link")


def _link_function(name: str) -> Callable[[Session, int], list[int]]:
    for module_name in LINK_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise ConfigError(f"linking is not available here ({name} not found): run `detector link` first")


def cluster_message_ids(session: Session, cluster_id: int) -> list[int]:
    return list(_link_function("cluster_message_ids")(session, cluster_id))


def entity_message_ids(session: Session, entity_id: int) -> list[int]:
    return list(_link_function("entity_message_ids")(session, entity_id))


def message_links(session: Session, message_id: int) -> dict[str, Any]:
    """The message's near-duplicate cluster and linked entities (empty when linking has not run here)."""
    try:
        from detector.schema import ClusterMember, Entity, EntityMember  # type: ignore[attr-defined]
    except ImportError:
        return {"cluster_id": None, "entities": []}
    cluster_id = session.scalar(select(ClusterMember.cluster_id).where(ClusterMember.message_id == message_id))
    entities = session.execute(select(Entity.id, Entity.kind, Entity.key)
                               .join(EntityMember, EntityMember.entity_id == Entity.id)
                               .where(EntityMember.message_id == message_id).order_by(Entity.kind, Entity.id)).all()
    return {"cluster_id": cluster_id, "entities": [{"id": i, "kind": k, "key": key} for i, k, key in entities]}
