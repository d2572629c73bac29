"""What a cluster's members share and what varies between them (pure functions).

The template is the words of the most typical member, those found in at least half of
the members kept and the others folded into a `…` slot; the varying values are the
distinct prices, ages and contacts found by the text signals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from .sketch import fold

SLOT = "…"
VARYING = ("price", "age", "contact", "place")


def _words(text: str) -> list[str]:
    return fold(text).split()


def common_template(texts: Sequence[str], share: float = 0.5) -> str:
    """The words most members share, in the order of the member sharing most, slots for the rest."""
    if not texts:
        return ""
    bags = [set(_words(t)) for t in texts]
    counts = Counter(w for bag in bags for w in bag)
    needed = max(2, round(share * len(texts))) if len(texts) > 1 else 1
    common = {w for w, n in counts.items() if n >= needed}
    base = max(range(len(texts)), key=lambda i: (len(bags[i] & common), -i))
    out: list[str] = []
    for word in _words(texts[base]):
        if word in common:
            out.append(word)
        elif not out or out[-1] != SLOT:
            out.append(SLOT)
    return " ".join(out)


def _shown(signal: dict[str, Any]) -> str:
    value = signal.get("value")
    if signal.get("type") == "price" and isinstance(value, dict):
        return f"{value.get('amount', 0):g} {value.get('currency', '')}".strip()
    if signal.get("type") == "age" and isinstance(value, dict):
        lo, hi = value.get("min"), value.get("max")
        return f"{lo}" if lo == hi else f"{lo}-{hi}"
    return str(value if value is not None else signal.get("text", ""))


def varying_values(signal_lists: Sequence[Sequence[dict[str, Any]] | None]) -> dict[str, list[str]]:
    """For price, age, contact and place: every distinct value among the members, in first-seen order."""
    found: dict[str, list[str]] = {kind: [] for kind in VARYING}
    for signals in signal_lists:
        for signal in signals or ():
            kind = signal.get("type")
            if kind in found:
                shown = _shown(signal)
                if shown not in found[kind]:
                    found[kind].append(shown)
    return {k: v for k, v in found.items() if v}
