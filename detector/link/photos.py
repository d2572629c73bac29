"""Photo fingerprints: PDQ perceptual hashes (the `pdqhash` package, as in ThreatExchange).

PDQ survives resizing and re-encoding, and its dihedral variants cover rotations and
flips, but a crop of even 5% moves a hash by about 50 of its 256 bits. So each photo is
hashed whole and as eight crops (centre 95/90/85% and each corner at 90%); two photos
match when any crop of one, in any of its 8 orientations, lies within `MAX_DISTANCE` bits
of any crop of the other. Bad files raise `BadPhoto` with a short reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

MAX_DISTANCE = 31
MIN_QUALITY = 20  # PDQ quality below this means a nearly flat picture: no perceptual match
WORKING_SIZE = 256  # PDQ reduces to 64x64 anyway; 512 took 7x longer for the same bits
MAX_FILE_BYTES = 50 * 1024 * 1024
CENTRE_SCALES = (0.95, 0.9, 0.85)
CORNER_SCALE = 0.9


class BadPhoto(Exception):
    """A stored file that cannot be hashed as a photo; `reason` is a short counter name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PhotoPrint:
    """PDQ of the whole photo (hex) and its quality; `crops` (n, 4) uint64 words; `queries` their 8 orientations."""

    pdq: str
    quality: int
    crops: np.ndarray
    queries: np.ndarray


def _words(bits: np.ndarray) -> np.ndarray:
    return np.frombuffer(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes(), dtype=">u8").astype(np.uint64)


def _crops(image: Image.Image) -> list[Image.Image]:
    w, h = image.size
    boxes = [(0, 0, w, h)]
    for scale in CENTRE_SCALES:
        dw, dh = round(w * (1 - scale) / 2), round(h * (1 - scale) / 2)
        boxes.append((dw, dh, w - dw, h - dh))
    cw, ch = round(w * CORNER_SCALE), round(h * CORNER_SCALE)
    boxes += [(0, 0, cw, ch), (w - cw, 0, w, ch), (0, h - ch, cw, h), (w - cw, h - ch, w, h)]
    return [image.crop(box) for box in boxes]


def open_photo(path: Path) -> Image.Image:
    """The photo as RGB at most WORKING_SIZE pixels a side; BadPhoto for anything else."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadPhoto("too_large", f"{path.name} is over {MAX_FILE_BYTES // 2**20} MB")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.draft("RGB", (WORKING_SIZE, WORKING_SIZE))
                image.thumbnail((WORKING_SIZE, WORKING_SIZE))
                return image.convert("RGB")
    except FileNotFoundError as exc:
        raise BadPhoto("missing_file", str(path)) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadPhoto("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise BadPhoto("not_an_image", path.name) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt image data
        raise BadPhoto("unreadable_image", f"{path.name}: {exc}") from exc


def fingerprint(image: Image.Image) -> PhotoPrint:
    """PDQ hashes of a photo's crops (stored) and of every orientation of them (queries)."""
    crops: list[np.ndarray] = []
    queries: list[np.ndarray] = []
    quality = 0
    for index, crop in enumerate(_crops(image)):
        variants, q = pdqhash.compute_dihedral(np.asarray(crop))
        if index == 0:
            quality, whole = int(q), variants[0]
        crops.append(_words(variants[0]))
        queries.extend(_words(v) for v in variants)
    pdq = np.packbits(np.asarray(whole, dtype=np.uint8)).tobytes().hex()
    return PhotoPrint(pdq, quality, np.stack(crops), np.stack(queries))


def hamming(queries: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Bit distances between every query row and every stored row ((q, 4) x (s, 4) uint64 -> (q, s))."""
    return np.bitwise_count(queries[:, None, :] ^ stored[None, :, :]).sum(axis=-1, dtype=np.int32)
