"""Photos for reports: the stored original, or a blurred, shrunken copy (derived; the original is untouched)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageFilter

from detector.ingest.evidence import EvidenceError, EvidenceStore

PHOTO_MODES = ("blurred", "original", "none")
PREVIEW_SIZE = 360


def blurred_jpeg(data: bytes) -> bytes:
    """A heavily blurred, shrunken JPEG of an image (nothing recognisable survives)."""
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
        image.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
        radius = max(8, max(image.size) // 12)
        out = io.BytesIO()
        image.filter(ImageFilter.GaussianBlur(radius)).save(out, "JPEG", quality=70)
        return out.getvalue()


def photo_data_uri(evidence_dir: Path, stored_path: str, mime: str | None, mode: str) -> str | None:
    """A data: URI of the photo as the mode asks, or None when it is left out or unreadable."""
    if mode == "none":
        return None
    try:
        with EvidenceStore(evidence_dir).open(stored_path) as stream:
            data = stream.read()
        if mode == "blurred":
            data, mime = blurred_jpeg(data), "image/jpeg"
    except (OSError, ValueError, EvidenceError, Image.DecompressionBombError):
        return None
    if mime not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
