"""A simulated labelling loop: does active learning beat random choice, and which order?

The model starts from synthetic training templates only. A stream of messages in styles
no training template produced (the corpus' test-split families: unseen phrasings,
layouts, obfuscations) is labelled by a simulated analyst (the true label, wrong with
probability `error_rate`). After every batch the fast tier is retrained on the synthetic
base plus the labels, its flag threshold is chosen on the calibration messages as training
does (recall >= MIN_RECALL), and F1 at that threshold is measured on held-out stream messages.
The stream is cut into pool and evaluation by template family, so evaluation is on
near-duplicate-free data. Strategies: `active` (uncertainty around the model's threshold),
`active_half` (around 0.5, the order used before) and `random`. Fast tier only; plotting
needs matplotlib (the `plot` extra), results never do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DetectorError
from .active_learning import select_batch
from .cascade import choose_threshold
from .splits import sample_families

Progress = Callable[[str], None]
STRATEGIES = ("active", "active_half", "random")
HALF = 0.5  # the decision point `active_half` ranks around


@dataclass(frozen=True)
class SimulationConfig:
    n_corpus: int = 24_000
    seed: int = 0
    base_train: int = 4000  # synthetic training messages the model starts from
    calibration: int = 1000  # synthetic validation messages for Platt calibration
    checkpoints: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400)
    batch: int = 50  # labels per active-learning round (the model is refitted after each)
    labels_weight: float = 3.0
    error_rate: float = 0.0
    repeats: int = 5
    n_features: int = 2**18
    eval_fraction: float = 0.4  # share of stream families kept for evaluation
    strategies: tuple[str, ...] = STRATEGIES


@dataclass
class SimulationResult:
    config: dict[str, Any]
    pool_size: int
    eval_size: int
    curves: dict[str, dict[int, list[float]]] = field(default_factory=dict)  # strategy -> labels -> F1 per repeat

    def mean(self, strategy: str) -> dict[int, float]:
        return {k: float(np.mean(v)) for k, v in sorted(self.curves[strategy].items())}

    def spread(self, strategy: str) -> dict[int, dict[str, float]]:
        """Per checkpoint: the standard deviation over repeats and the lowest and highest F1."""
        return {k: {"sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "min": float(min(v)), "max": float(max(v))}
                for k, v in sorted(self.curves[strategy].items())}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "mean": {s: self.mean(s) for s in self.curves},
                "spread": {s: self.spread(s) for s in self.curves}}


def f1_at(probabilities: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> float:
    flagged = probabilities >= threshold
    tp = int((flagged & (y == 1)).sum())
    return 2 * tp / (int(flagged.sum()) + int((y == 1).sum()) or 1)


def _split_families(examples: Sequence[Any], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    held = sample_families(examples, fraction, seed)
    pool = [i for i, e in enumerate(examples) if e.family not in held]
    evaluation = [i for i, e in enumerate(examples) if e.family in held]
    return pool, evaluation


class _Loop:
    """Shared state of one repeat: analysed texts, the base data, the simulated analyst."""

    def __init__(self, base: list[Any], y_base: np.ndarray, calib: list[Any], y_calib: np.ndarray,
                 pool: list[Any], pool_texts: list[str], y_pool: np.ndarray, evaluation: list[Any],
                 y_eval: np.ndarray, config: SimulationConfig, seed: int) -> None:
        self.base, self.y_base, self.calib, self.y_calib = base, y_base, calib, y_calib
        self.pool, self.pool_texts, self.evaluation, self.y_eval = pool, pool_texts, evaluation, y_eval
        self.config = config
        rng = np.random.default_rng(seed)
        flips = rng.random(len(y_pool)) < config.error_rate
        self.analyst = np.where(flips, 1 - y_pool, y_pool)  # what the simulated analyst answers
        self.random_order = rng.permutation(len(pool))

    def fit(self, labelled: list[int]) -> tuple[Any, float]:
        """The fast tier on the base plus the labels, and its flag threshold chosen on calibration."""
        from .fast_tier import FastTier
        from .train import MIN_RECALL

        repeat = int(self.config.labels_weight)
        X = self.base + [self.pool[i] for i in labelled] * repeat
        y = np.concatenate([self.y_base, np.tile(self.analyst[labelled], repeat)]) if labelled else self.y_base
        model = FastTier(n_features=self.config.n_features).fit(X, y, X_calib=self.calib, y_calib=self.y_calib)
        return model, choose_threshold(model.predict_proba(self.calib)[:, 1], self.y_calib, MIN_RECALL)

    def run(self, strategy: str) -> dict[int, float]:
        """F1 at each checkpoint; active learning refits after every batch, random at checkpoints."""
        labelled: list[int] = []
        model, threshold = self.fit(labelled)
        scores: dict[int, float] = {}
        for target in self.config.checkpoints:
            while len(labelled) < target:
                step = target - len(labelled) if strategy == "random" else min(self.config.batch, target - len(labelled))
                labelled += self.next_batch(strategy, model, threshold, labelled, step)
                model, threshold = self.fit(labelled)
            scores[target] = f1_at(model.predict_proba(self.evaluation)[:, 1], self.y_eval, threshold)
        return scores

    def next_batch(self, strategy: str, model: Any, threshold: float, labelled: list[int], k: int) -> list[int]:
        taken = set(labelled)
        if strategy == "random":
            return [int(i) for i in self.random_order if int(i) not in taken][:k]
        rest = [i for i in range(len(self.pool)) if i not in taken]
        p = model.predict_proba([self.pool[i] for i in rest])[:, 1]
        picked = select_batch(p, [self.pool_texts[i] for i in rest], k, threshold=HALF if strategy == "active_half" else threshold,
                              labelled_texts=[self.pool_texts[i] for i in labelled])
        return [rest[j] for j in picked]


def run_simulation(config: SimulationConfig = SimulationConfig(), progress: Progress = lambda _m: None) -> SimulationResult:
    """Learning curves (F1 on held-out stream families) for active learning and random choice."""
    from ..synthetic.corpus import generate_corpus
    from .features import analyse_all

    unknown = set(config.strategies) - set(STRATEGIES)
    if unknown:
        raise DetectorError(f"unknown strategy {sorted(unknown)[0]!r}: use {', '.join(STRATEGIES)}")
    progress("generating the corpus")
    corpus = generate_corpus(config.n_corpus, config.seed)
    rng = np.random.default_rng(config.seed)
    # twice the base is analysed once; each repeat starts from its own random half of it
    train = [corpus[i] for i in rng.permutation([i for i, e in enumerate(corpus) if e.split == "train"])[: 2 * config.base_train]]
    val = [corpus[i] for i in rng.permutation([i for i, e in enumerate(corpus) if e.split == "val"])[: config.calibration]]
    stream = [e for e in corpus if e.split == "test"]
    pool_idx, eval_idx = _split_families(stream, config.eval_fraction, config.seed)
    progress(f"analysing {len(train) + len(val) + len(stream)} messages")
    base, calib, analysed = analyse_all([e.text for e in train]), analyse_all([e.text for e in val]), analyse_all([e.text for e in stream])
    labels = np.array([e.label for e in stream])
    if max(config.checkpoints, default=0) > len(pool_idx):
        raise DetectorError(f"the stream holds {len(pool_idx)} messages to label, fewer than the checkpoint "
                            f"{max(config.checkpoints)}: use a larger corpus or smaller checkpoints")
    result = SimulationResult(asdict(config), len(pool_idx), len(eval_idx), {s: {} for s in config.strategies})
    y_train = np.array([e.label for e in train])
    for repeat in range(config.repeats):
        chosen = np.sort(np.random.default_rng(config.seed + repeat).permutation(len(train))[: config.base_train])
        loop = _Loop([base[i] for i in chosen], y_train[chosen], calib, np.array([e.label for e in val]),
                     [analysed[i] for i in pool_idx], [stream[i].text for i in pool_idx], labels[pool_idx],
                     [analysed[i] for i in eval_idx], labels[eval_idx], config, config.seed + 1000 + repeat)
        for strategy in config.strategies:
            progress(f"repeat {repeat + 1}/{config.repeats}: {strategy}")
            for n, f1 in loop.run(strategy).items():
                result.curves[strategy].setdefault(n, []).append(f1)
    return result


def plot_curves(result: SimulationResult, path: Path) -> Path:
    """F1 against the number of labels, one line per strategy (mean, with min-max band), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy, curve in result.curves.items():
        xs = sorted(curve)
        values = [curve[x] for x in xs]
        ax.plot(xs, [np.mean(v) for v in values], marker="o", label=strategy)
        ax.fill_between(xs, [min(v) for v in values], [max(v) for v in values], alpha=0.2)
    ax.set_xlabel("labels")
    ax.set_ylabel("F1 on held-out stream families")
    ax.set_title("Label order: around the threshold, around 0.5, random (fast tier)")
    ax.grid(alpha=0.3)
    ax.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
