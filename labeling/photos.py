"""Photos in the queue: a blurred derivative by default, the original only after the analyst's reveal.

The blur is not a CSS effect: until a photo is revealed, `/media/{id}` sends a blurred, shrunken JPEG
computed here (Pillow, the same recipe as the reports' blurred copies), so the original bytes never
reach a browser that has not asked for them. Reveals are SESSION-scoped: `POST /media/{id}/reveal`
appends a `reveal_photo` audit event and adds the id to the signed session (up to MAX_REVEALED ids);
a new login starts blurred again, and another user's reveal never counts. Every original served is
an audit event of its own (`serve_original_photo`: who, which media, when, why).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from PIL import Image
from starlette.requests import Request

from reports.photos import PREVIEW_SIZE, blurred_jpeg

SESSION_KEY = "revealed"
MAX_REVEALED = 100  # the newest reveals kept in the session cookie
CACHE_SIZE = 512  # blurred derivatives kept in memory (a few KiB each)
PLACEHOLDER_SIZE = 64  # the grey stand-in for a file whose size cannot be read


def revealed_ids(request: Request) -> set[int]:
    """The media ids revealed in this session."""
    ids = request.session.get(SESSION_KEY, [])
    return {i for i in ids if isinstance(i, int)} if isinstance(ids, list) else set()


def remember_reveal(request: Request, media_id: int) -> None:
    """Mark a photo revealed for the rest of this session (only by `POST /media/{id}/reveal`)."""
    ids = [i for i in request.session.get(SESSION_KEY, []) if isinstance(i, int) and i != media_id] \
        if isinstance(request.session.get(SESSION_KEY), list) else []
    request.session[SESSION_KEY] = (ids + [media_id])[-MAX_REVEALED:]


@functools.lru_cache(maxsize=CACHE_SIZE)
def blurred_copy(path: str) -> bytes:
    """The blurred JPEG derivative of an evidence file (read only, never written). A file Pillow
    cannot decode (browsers are more lenient with broken files) gets a plain grey JPEG of its size
    instead: nothing of it leaves before a reveal. Cached in memory by path: evidence blobs are
    content addressed and write-once, so a path always names the same bytes."""
    data = Path(path).read_bytes()
    try:
        return blurred_jpeg(data)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return _grey_jpeg(data)


def _grey_jpeg(data: bytes) -> bytes:
    """A plain grey JPEG with the photo's proportions (from its header when readable)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        size = (PLACEHOLDER_SIZE, PLACEHOLDER_SIZE)
    grey = Image.new("RGB", (max(1, size[0]), max(1, size[1])), (128, 128, 128))
    grey.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
    out = io.BytesIO()
    grey.save(out, "JPEG", quality=70)
    return out.getvalue()
