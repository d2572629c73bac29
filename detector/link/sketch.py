"""Character shingles of the normalised text and their MinHash signatures (datasketch).

Character shingles work in every script (Arabic, Kurdish, Persian, Latin) without a
tokenizer. Shingles are hashed to 32 bits with a vectorised rolling hash, then fed to a
`datasketch.MinHash` (affine32 scheme); the signature is kept as `num_perm` uint32 values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from ..text import normalise

SHINGLE = 5
NUM_PERM = 64
SEED = 7
MIN_CHARS = 30  # shorter texts ("ok", "how much?") are not clustered: too little to compare
MAX_CHARS = 20_000  # longer ones are skipped as huge messages
_MULT = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def fold(text: str) -> str:
    """The comparable form of a message: normalised, whitespace collapsed to single spaces."""
    return " ".join(normalise(text).text.split())


def shingle_hashes(folded: str, k: int = SHINGLE) -> np.ndarray:
    """Distinct 32-bit hashes of the character k-grams of `folded` (one shingle when shorter)."""
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        codes = np.concatenate([codes, np.zeros(k - len(codes), dtype=np.uint64)])
    n = len(codes) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * _MULT + codes[j : j + n]
        acc = (acc ^ (acc >> np.uint64(29))) * _MIX
    return np.unique((acc >> np.uint64(32)).astype(np.uint32))


@dataclass(frozen=True, slots=True)
class Sketch:
    """A message's MinHash signature, or why it has none."""

    signature: np.ndarray | None  # uint32[num_perm]
    skipped: str | None = None  # "short" (not a problem) or "huge_message"


class Sketcher:
    """Turns texts into MinHash signatures; one datasketch MinHash reused for speed."""

    def __init__(self, num_perm: int = NUM_PERM, seed: int = SEED, k: int = SHINGLE) -> None:
        self.k = k
        self._minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=int)

    def signature_of(self, folded: str) -> np.ndarray:
        self._minhash.clear()
        self._minhash.update_batch(shingle_hashes(folded, self.k).tolist())
        return self._minhash.hashvalues.astype(np.uint32, copy=True)

    def sketch(self, text: str) -> Sketch:
        if len(text) > MAX_CHARS:
            return Sketch(None, "huge_message")
        folded = fold(text)
        if len(folded) < MIN_CHARS:
            return Sketch(None, "short")
        return Sketch(self.signature_of(folded))


def to_bytes(signature: np.ndarray) -> bytes:
    return signature.astype("<u4").tobytes()


def from_bytes(blobs: list[bytes], num_perm: int = NUM_PERM) -> np.ndarray:
    """Signatures stored with `to_bytes`, as one (n, num_perm) uint32 matrix."""
    if not blobs:
        return np.zeros((0, num_perm), dtype=np.uint32)
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), num_perm).astype(np.uint32)
