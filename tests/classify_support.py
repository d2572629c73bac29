"""Helpers for the classifier tests: a tiny model trained in seconds on a corpus sample."""

from __future__ import annotations

from pathlib import Path

TINY_N = 1500
TINY_SEED = 3


def train_tiny_model(out: Path) -> Path:
    """A fast-tier-only model on a small synthetic sample (2^16 hashed features)."""
    from detector.classify.train import TrainConfig, train_synthetic

    train_synthetic(TrainConfig(out=out, n=TINY_N, seed=TINY_SEED, transformer=False, n_features=2**16))
    return out
