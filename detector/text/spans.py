"""A set of claimed character spans with fast overlap tests (messages can be megabytes)."""

from __future__ import annotations

from bisect import bisect_left


class SpanSet:
    """Disjoint, sorted spans; adding an overlapping span merges it."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        """True when [start, end) shares a character with a claimed span."""
        i = bisect_left(self._starts, end) - 1
        return i >= 0 and self._ends[i] > start

    def add(self, start: int, end: int) -> None:
        """Claim [start, end)."""
        while self.overlaps(start, end):
            i = bisect_left(self._starts, end) - 1
            start, end = min(start, self._starts[i]), max(end, self._ends[i])
            del self._starts[i], self._ends[i]
        i = bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)
