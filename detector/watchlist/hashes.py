"""Watchlist hashes, pure: hash-file lines, photos hashed like linking, references, variant names.

A hash file holds one `PDQ_HEX,QUALITY,REFERENCE` line per hash (ThreatExchange's PDQ hasher
prints `hash,quality,name`); `#` comments and blank lines are skipped. A photo is hashed with
the linking set (`detector.link.photos.fingerprint`: the whole picture and 8 crops); the
listing side of a comparison brings its 8 orientations, so a rotated or mirrored repost meets
the list's upright hashes. Hashes are kept as rows of four uint64 words (as in `link.photos`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..link.photos import CENTRE_SCALES, CORNER_SCALE, MAX_DISTANCE, fingerprint, hamming

CHUNK_ROWS = 8192
MIN_QUALITY = 50  # the PDQ authors advise discarding hashes of lower quality
HASH_FILE_SUFFIXES = frozenset({".txt", ".csv", ".pdq"})
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
CROP_NAMES = ("whole", *(f"centre {round(s * 100)}%" for s in CENTRE_SCALES),
              *(f"{corner} {round(CORNER_SCALE * 100)}%" for corner in ("top-left", "top-right", "bottom-left",
                                                                        "bottom-right")))
ORIENTATIONS = ("upright", "rotated 90°", "rotated 180°", "rotated 270°", "flipped (x axis)", "flipped (y axis)",
                "flipped (diagonal)", "flipped (anti-diagonal)")  # pdqhash.compute_dihedral's order


class BadLine(ValueError):
    """A hash-file line or photo that cannot become an entry; the message is one readable clause."""


@dataclass(frozen=True, slots=True)
class EntryHashes:
    """What an entry keeps: the owner's reference, the whole picture's PDQ (hex), its quality and
    every hash to compare (`words`, (n, 4) uint64: the whole picture first)."""

    reference: str
    pdq: str
    quality: int
    words: np.ndarray
    origin: str  # photo | hash_file


def check_reference(reference: str) -> str:
    """The reference unchanged when it is an opaque code (letters, digits, `. _ : -`, at least one digit)."""
    if not REFERENCE.fullmatch(reference) or not any(c.isdigit() for c in reference):
        raise BadLine(f"reference {reference!r} must be an opaque code such as MP-0042 (1-64 letters, digits, "
                      ". _ : -, at least one digit), never a name")
    return reference


def check_quality(quality: int) -> int:
    if quality < MIN_QUALITY:
        raise BadLine(f"PDQ quality {quality} is below {MIN_QUALITY} (too flat to match: the PDQ authors advise "
                      "discarding such hashes)")
    return quality


def words_of_hex(pdq: str) -> np.ndarray:
    """One PDQ hex hash as a (1, 4) uint64 row."""
    return np.frombuffer(bytes.fromhex(pdq), dtype=">u8").astype(np.uint64).reshape(1, 4)


def to_bytes(words: np.ndarray) -> bytes:
    """Rows of words as stored (little-endian, 32 bytes a hash, as `LinkPhoto.pdq_crops`)."""
    return np.ascontiguousarray(words, dtype=np.uint64).astype("<u8").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u8").reshape(-1, 4).astype(np.uint64)


def parse_line(line: str) -> EntryHashes | None:
    """An entry from one hash-file line; None for a blank or comment line; BadLine otherwise."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != 3:
        raise BadLine(f"expected PDQ_HEX,QUALITY,REFERENCE (3 fields), found {len(fields)}")
    pdq, quality, reference = fields
    if len(pdq) != 64 or not re.fullmatch(r"[0-9a-fA-F]*", pdq):
        raise BadLine(f"a PDQ hash is 64 hexadecimal digits, found {len(pdq)} characters")
    if not quality.isdigit() or int(quality) > 100:
        raise BadLine(f"quality must be a whole number from 0 to 100, found {quality[:20]!r}")
    pdq = pdq.lower()
    return EntryHashes(check_reference(reference), pdq, check_quality(int(quality)), words_of_hex(pdq), "hash_file")


def photo_entry(image: Image.Image, reference: str) -> EntryHashes:
    """An entry from a photo: the linking crops of the upright picture (pixels are not kept)."""
    check_reference(reference)
    print_ = fingerprint(image)
    return EntryHashes(reference, print_.pdq, check_quality(print_.quality), print_.crops, "photo")


@dataclass(frozen=True, slots=True)
class Hit:
    """The nearest meeting of a listing photo and one entry row: its distance and which hashes met."""

    row: int  # row in the stacked entry hashes
    distance: int
    query: int  # row of the listing photo's queries (crop x orientation)


def nearest_hits(queries: np.ndarray, stored: np.ndarray, max_distance: int = MAX_DISTANCE) -> list[Hit]:
    """For each stored row within `max_distance` of any query row, its nearest meeting: the scan that
    `index.MultiIndex` uses for a few rows and equals for many."""
    hits = []
    for start in range(0, len(stored), CHUNK_ROWS):  # bounded memory: (queries, CHUNK_ROWS, 4) at a time
        distances = hamming(queries, stored[start:start + CHUNK_ROWS])
        best = distances.argmin(axis=0)
        nearest = distances[best, np.arange(distances.shape[1])]
        hits += [Hit(start + int(r), int(nearest[r]), int(best[r])) for r in np.flatnonzero(nearest <= max_distance)]
    return hits


def variant_name(query: int, stored_row_in_entry: int, origin: str) -> str:
    """Which hashes met: the listing photo's crop and orientation, and the list's hash."""
    listing = f"listing {CROP_NAMES[query // len(ORIENTATIONS)]}, {ORIENTATIONS[query % len(ORIENTATIONS)]}"
    listed = "the listed hash" if origin == "hash_file" else f"list photo {CROP_NAMES[stored_row_in_entry]}"
    return f"{listing} ~ {listed}"
