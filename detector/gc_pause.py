"""Pausing Python's cyclic garbage collector around allocation-heavy work with no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (restored after, as it was).

    Parsed records, analyses and predictions hold no reference cycles, yet the many dicts
    and lists they are made of set off collections that walk every live object (a fifth of
    the CPU of a big load, a sixth of scoring's). Reference counting still frees them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
