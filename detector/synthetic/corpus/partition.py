"""Deterministic assignment of phrasings and layouts to the train, val and test splits.

Phrase pools (synonyms, sentence frames, labels, emoji sets) are partitioned by
position: items 0, 1, 2 of every five go to train, item 3 to val, item 4 to test.
Layout families rotate per (kind, language) so each split has layouts of its own.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")

SPLITS = ("train", "val", "test")
_BY_POSITION = ("train", "train", "train", "val", "test")
SPLIT_WEIGHTS = {"train": 0.7, "val": 0.15, "test": 0.15}
MIN_PARTITIONED = 5  # shorter pools are entities (places, digits) shared by all splits


def split_of_position(index: int) -> str:
    """The split that owns item `index` of a partitioned pool."""
    return _BY_POSITION[index % len(_BY_POSITION)]


@lru_cache(maxsize=None)
def _part(pool: tuple, split: str) -> tuple:
    if len(pool) < MIN_PARTITIONED:
        return pool
    return tuple(x for i, x in enumerate(pool) if split_of_position(i) == split)


def part(pool: Sequence[T], split: str) -> tuple[T, ...]:
    """The items of `pool` that `split` may use."""
    return _part(tuple(pool), split)


def pick(rng: random.Random, pool: Sequence[T], split: str) -> T:
    """One item of the split's share of `pool`."""
    return rng.choice(part(pool, split))


def layout_split(kind: str, lang: str, layout: int, n_layouts: int) -> str:
    """The split that owns layout number `layout` for this kind and language.

    The last four ranks of a rotation keyed on (kind, lang) go two to val and two
    to test; the rest to train. Every split sees every layout style somewhere, but
    never the same (kind, lang, layout) family as another split.
    """
    offset = zlib.crc32(f"{kind}|{lang}".encode()) % n_layouts
    rank = (layout - offset) % n_layouts
    if rank >= n_layouts - 2:
        return "test"
    if rank >= n_layouts - 4:
        return "val"
    return "train"


@lru_cache(maxsize=None)
def layouts_for(kind: str, lang: str, split: str, n_layouts: int) -> tuple[int, ...]:
    """Layout numbers that `split` owns for this kind and language."""
    return tuple(j for j in range(n_layouts) if layout_split(kind, lang, j, n_layouts) == split)
