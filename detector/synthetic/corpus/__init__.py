"""Seeded synthetic corpus of marketplace messages: human-sale listings and the hard negatives around them.

`generate_corpus(n, seed)` returns `Example`s in ar, ckb, kmr, fa, tr, en and mixed
languages, each from a template family that belongs to exactly one of the train,
val and test splits, so the test split measures generalisation to unseen phrasing.
Listings are clinical: a person offered, an age, a price, a place, a contact.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from ...atomic import atomic_path
from ...errors import InputError
from .example import Example
from .generate import ALL_LANGS, LANGS, LISTING_KINDS, NEGATIVE_KINDS, NON_LISTING_KINDS, POSITIVE_KINDS, draft
from .partition import SPLITS

__all__ = [
    "ALL_LANGS", "LANGS", "LISTING_KINDS", "NEGATIVE_KINDS", "NON_LISTING_KINDS", "POSITIVE_KINDS", "SPLITS",
    "Example", "generate_corpus", "iter_corpus", "write_jsonl",
]


def iter_corpus(n: int = 24000, seed: int = 0) -> Iterator[Example]:
    """The examples of `generate_corpus`, one at a time."""
    rng = random.Random(seed)
    for _ in range(n):
        yield draft(rng)


def generate_corpus(n: int = 24000, seed: int = 0) -> list[Example]:
    """`n` examples, the same for the same seed (about 70% train, 15% val, 15% test)."""
    return list(iter_corpus(n, seed))


def write_jsonl(examples: Iterable[Example], path: str | Path) -> int:
    """Write one JSON object per line (UTF-8); all or nothing. Returns the number written."""
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(target, "folder does not exist")
    count = 0
    try:
        with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as out:
            for example in examples:
                out.write(json.dumps(example.to_dict(), ensure_ascii=False) + "\n")
                count += 1
    except OSError as exc:  # nothing half-written stays behind
        raise InputError(target, f"cannot write here ({exc.strerror})") from exc
    return count
