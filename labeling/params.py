"""Bounded integers from paths, queries and forms: every id fits the id columns (INTEGER: 32-bit on PostgreSQL)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path

from .errors import BadRequest

MAX_ID = 2**31 - 1  # the largest id an INTEGER primary key holds on PostgreSQL (SQLite allows more)
_DIGITS = re.compile(r"[0-9]{1,19}")

# An id in a URL path: out of range is a validation error, answered 404 by app._validation_error.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def fits(text: str, low: int = 1, high: int = MAX_ID) -> bool:
    """Whether `text` is an ASCII decimal between low and high (no signs, no other digits)."""
    return _DIGITS.fullmatch(text) is not None and low <= int(text) <= high


def parse_int(text: str, field: str, *, low: int = 1, high: int = MAX_ID) -> int:
    """The number in `text`; BadRequest naming the field when it is not one between low and high."""
    if not fits(text, low, high):
        raise BadRequest(f"{field} must be a whole number from {low} to {high}")
    return int(text)
