"""Photo variants for the linking and watchlist tests: re-encoded and centre-cropped copies."""

from __future__ import annotations

import io

from PIL import Image


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """`image` saved as `fmt` (e.g. JPEG with quality=...)."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def centre_crop(image: Image.Image, share: float) -> Image.Image:
    """`image` with `share` of its width and height cut off around the edges."""
    w, h = image.size
    dw, dh = round(w * share / 2), round(h * share / 2)
    return image.crop((dw, dh, w - dw, h - dh))
