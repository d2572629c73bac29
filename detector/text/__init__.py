"""Multilingual text understanding: normalisation, language identification, signals.

Pure functions, no database. `analyse(text)` normalises once and reuses the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from detector.text.language import Language, language
from detector.text.normalise import Normalised, normalise
from detector.text.signals import Signal, signals

__all__ = ["Analysis", "Language", "Normalised", "Signal", "analyse", "language", "normalise", "signals"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """The normalised text, its language and its signals."""

    normalised: Normalised
    language: Language
    signals: list[Signal]


def analyse(text: str) -> Analysis:
    """Normalise `text` once, then identify its language and find its signals."""
    norm = normalise(text)
    return Analysis(norm, language(norm), signals(norm))
