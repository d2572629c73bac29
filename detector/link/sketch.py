"""Character shingles of the normalised text and their MinHash signatures (datasketch).

Character shingles work in every script (Arabic, Kurdish, Persian, Latin) without a
tokenizer. Shingles are hashed to 32 bits with a vectorised rolling hash; the signature is
datasketch's `MinHash` (affine32 scheme) of them, computed for many texts at once, kept as
`num_perm` uint32 values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

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
    return np.unique(_rolling_hashes(codes, k))


def _rolling_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """The 32-bit hash of every k-gram of the code points `codes` (uint64), in order."""
    n = len(codes) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * _MULT + codes[j : j + n]
        acc = (acc ^ (acc >> np.uint64(29))) * _MIX
    return (acc >> np.uint64(32)).astype(np.uint32)


@dataclass(frozen=True, slots=True)
class Sketch:
    """A message's MinHash signature, or why it has none."""

    signature: np.ndarray | None  # uint32[num_perm]
    skipped: str | None = None  # "short" (not a problem) or "huge_message"


class Sketcher:
    """Turns texts into MinHash signatures, many texts at a time.

    The signatures are datasketch's (`MinHash(num_perm, seed, hashfunc=int)` updated with
    `shingle_hashes`): its permutations, its MurmurHash3 pre-mix and its affine32 arithmetic,
    applied with numpy to every shingle of a batch at once. A minimum over repeated shingles
    equals the minimum over distinct ones, so a batch needs no de-duplication.
    """

    CHUNK = 400  # texts per numpy pass (bounds the (shingles, num_perm) matrix)

    def __init__(self, num_perm: int = NUM_PERM, seed: int = SEED, k: int = SHINGLE) -> None:
        self.k = k
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=int)
        a, b = reference.permutations
        self._a, self._b = a.astype(np.uint32), b.astype(np.uint32)
        self._empty = reference.hashvalues.astype(np.uint32, copy=True)

    def signature_of(self, folded: str) -> np.ndarray:
        return self._signatures([shingle_hashes(folded, self.k)])[0]

    def _signatures(self, hashes: list[np.ndarray]) -> np.ndarray:
        """(len(hashes), num_perm) signatures of texts given as arrays of 32-bit shingle hashes."""
        out = np.tile(self._empty, (len(hashes), 1))
        sizes = np.array([len(h) for h in hashes], dtype=np.int64)
        filled = np.flatnonzero(sizes)
        if not len(filled):
            return out
        values = _fmix32(np.concatenate([hashes[i] for i in filled]).astype(np.uint32))
        starts = np.concatenate([[0], np.cumsum(sizes[filled])[:-1]])
        with np.errstate(over="ignore"):
            permuted = values[:, None] * self._a + self._b
        out[filled] = np.minimum.reduceat(permuted, starts, axis=0)
        return out

    def sketch(self, text: str) -> Sketch:
        return self.sketch_many([text])[0]

    def sketch_many(self, texts: list[str]) -> list[Sketch]:
        """Sketches of `texts`, in order."""
        out: list[Sketch] = []
        for start in range(0, len(texts), self.CHUNK):
            part = texts[start : start + self.CHUNK]
            folded = [fold(t) if len(t) <= MAX_CHARS else None for t in part]
            usable = [i for i, f in enumerate(folded) if f is not None and len(f) >= MIN_CHARS]
            signatures = iter(self._signatures(_shingles_of_many(cast(list[str], [folded[i] for i in usable]), self.k)))
            for f in folded:
                if f is None:
                    out.append(Sketch(None, "huge_message"))
                elif len(f) < MIN_CHARS:
                    out.append(Sketch(None, "short"))
                else:
                    out.append(Sketch(next(signatures)))
        return out


def _fmix32(values: np.ndarray) -> np.ndarray:
    """datasketch's MurmurHash3 32-bit finalizer (its pre-mix for the affine32 scheme)."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint32(16))
        values = values * np.uint32(0x85EBCA6B)
        values = values ^ (values >> np.uint32(13))
        values = values * np.uint32(0xC2B2AE35)
        return values ^ (values >> np.uint32(16))


def _shingles_of_many(folded: list[str], k: int) -> list[np.ndarray]:
    """`shingle_hashes` of each text (repeats kept), from one rolling hash over all of them;
    every text is at least `k` characters long."""
    if not folded:
        return []
    codes = np.frombuffer("".join(folded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    hashes = _rolling_hashes(codes, k)
    ends = np.cumsum([len(f) for f in folded])
    return [hashes[end - len(f) : end - k + 1] for f, end in zip(folded, ends)]


def to_bytes(signature: np.ndarray) -> bytes:
    return signature.astype("<u4").tobytes()


def from_bytes(blobs: list[bytes], num_perm: int = NUM_PERM) -> np.ndarray:
    """Signatures stored with `to_bytes`, as one (n, num_perm) uint32 matrix."""
    if not blobs:
        return np.zeros((0, num_perm), dtype=np.uint32)
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), num_perm).astype(np.uint32)
