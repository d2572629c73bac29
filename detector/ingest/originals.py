"""A message version's original bytes, wherever they are kept.

Ingest stores them as a span (`raw_offset`, `raw_length`) of the export file they
came from, which the evidence store keeps whole; rows stored before spans (and rows
built by hand) hold them inline in `raw`. Either way `raw_sha256` is their hash.
"""

from __future__ import annotations

from ..schema import Message, MessageVersion
from .evidence import EvidenceError, EvidenceStore


def original_bytes(store: EvidenceStore, item: Message | MessageVersion) -> bytes:
    """The exact bytes of a message (its first version) or of one version; EvidenceError/OSError when gone."""
    if item.raw is not None:
        return item.raw
    if item.raw_offset is None or item.raw_length is None:
        raise EvidenceError("no original bytes recorded (neither inline nor a span of its export)")
    return store.read_span(item.export_file.stored_path, item.raw_offset, item.raw_length)
