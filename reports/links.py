"""The messages of a linking cluster or entity (detector/link/), imported only when asked for."""

from __future__ import annotations

import importlib
from collections.abc import Callable

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
