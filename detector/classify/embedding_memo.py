"""Embed each training text once: e5 vectors memoised on disk, keyed by the SHA-256 of the text.

`embed_memoised(texts, encoder)` returns the same array as `encoder.embed(texts)` but looks every
text up first in `<folder>/<encoder.model_id>/*.npz` (plain arrays, read with allow_pickle=False)
and embeds only the texts it has not seen; the new rows are added as one more shard, written
atomically. The folder defaults to DETECTOR_CACHE_DIR's sibling `e5-embeddings`. CPU is precious:
retraining, validation sweeps and benchmarks reuse the vectors.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

import numpy as np

from ..atomic import atomic_path
from .e5 import default_cache_dir


class Encoder(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray: ...


def default_memo_dir() -> Path:
    return default_cache_dir().parent / "e5-embeddings"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def embed_memoised(texts: list[str], encoder: Encoder, folder: str | Path | None = None, *, batch_size: int = 32) -> np.ndarray:
    """`encoder.embed(texts)`, computing only the texts missing from the memo."""
    texts = list(texts)
    shelf = Path(folder or default_memo_dir()) / re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder.model_id)
    known = _read_shards(shelf)
    keys = [text_key(text) for text in texts]
    todo = {key: text for key, text in zip(keys, texts) if key not in known}
    if todo:
        vectors = encoder.embed(list(todo.values()), batch_size=batch_size)
        known.update(zip(todo, vectors))
        _write_shard(shelf, list(todo), vectors)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for row, key in enumerate(keys):
        out[row] = known[key]
    return out


def _read_shards(shelf: Path) -> dict[bytes, np.ndarray]:
    known: dict[bytes, np.ndarray] = {}
    for shard in sorted(shelf.glob("*.npz")):
        try:
            with np.load(shard, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError):
            continue  # a damaged shard is only a lost memo: those texts are embedded again
        if keys.dtype == np.uint8 and keys.ndim == 2 and keys.shape[1] == 32 and len(keys) == len(vectors):
            known.update(zip((row.tobytes() for row in keys), vectors.astype(np.float32)))
    return known


def _write_shard(shelf: Path, keys: list[bytes], vectors: np.ndarray) -> None:
    shelf.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(b"".join(keys)).hexdigest()[:20] + ".npz"
    raw_keys = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 32)
    with atomic_path(shelf / name) as tmp, open(tmp, "wb") as stream:
        np.savez(stream, keys=raw_keys, vectors=np.asarray(vectors, dtype=np.float32))
