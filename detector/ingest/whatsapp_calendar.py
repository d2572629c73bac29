"""Solar Hijri (Jalali) dates, which Persian-locale WhatsApp exports may use."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

# 1 Farvardin 1399 (Nowruz) fell on 20 March 2020.
_ANCHOR_YEAR = 1399
_ANCHOR = date(2020, 3, 20).toordinal()
# The arithmetic 33-year rule matches the astronomical calendar well for 1178-1633 SH.
FIRST_YEAR, LAST_YEAR = 1178, 1633


def is_leap(year: int) -> bool:
    return (25 * year + 11) % 33 < 8


@lru_cache(maxsize=512)
def year_start(year: int) -> int:
    """Proleptic Gregorian ordinal of 1 Farvardin of `year`."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"Solar Hijri year {year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    if year >= _ANCHOR_YEAR:
        return _ANCHOR + sum(365 + is_leap(y) for y in range(_ANCHOR_YEAR, year))
    return _ANCHOR - sum(365 + is_leap(y) for y in range(year, _ANCHOR_YEAR))


def _month_length(year: int, month: int) -> int:
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if is_leap(year) else 29


def to_gregorian(year: int, month: int, day: int) -> date:
    """The Gregorian date of a Solar Hijri date; ValueError when it does not exist."""
    if not 1 <= month <= 12 or not 1 <= day <= _month_length(year, month):
        raise ValueError(f"no Solar Hijri date {year}/{month}/{day}")
    before = sum(_month_length(year, m) for m in range(1, month))
    return date.fromordinal(year_start(year) + before + day - 1)


def from_gregorian(day: date) -> tuple[int, int, int]:
    """The Solar Hijri (year, month, day) of a Gregorian date."""
    year = day.year - 621
    if day.toordinal() < year_start(year):
        year -= 1
    offset = day.toordinal() - year_start(year)
    month = 1
    while offset >= _month_length(year, month):
        offset -= _month_length(year, month)
        month += 1
    return year, month, offset + 1
