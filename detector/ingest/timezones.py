"""Export times: IANA zones by name, local wall-clock times to UTC."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detector.errors import ConfigError


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA time zone `name` (e.g. "Asia/Baghdad"); ConfigError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}: use an IANA name such as Asia/Baghdad") from exc


def local_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """A naive local wall-clock time read in `tz`, as an aware UTC datetime."""
    return local.replace(tzinfo=tz).astimezone(UTC)
