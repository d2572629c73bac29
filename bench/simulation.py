"""The labelling simulation: F1 against labels for active learning and random choice.

    python bench/simulation.py [--repeats 3] [--out test-artifacts/learning_curve.png]

Target: active learning with 200 labels reaches at least the F1 random choice reaches with 400.
(Same as `detector simulate`.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from detector.classify.simulation import SimulationConfig, plot_curves, run_simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/learning_curve.png"))
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    args = parser.parse_args()
    started = time.perf_counter()
    config = SimulationConfig(repeats=args.repeats, error_rate=args.error_rate)
    if args.smoke:
        config = SimulationConfig(n_corpus=3000, base_train=500, calibration=200, repeats=1, n_features=2**14,
                                  checkpoints=(0, 100, 200), batch=100, strategies=("active", "random"))
    result = run_simulation(config,
                            progress=lambda m: print(f"[{time.perf_counter() - started:5.0f} s] {m}", flush=True))
    plot_curves(result, args.out)
    active, random = result.mean("active"), result.mean("random")
    print("labels  active  random")
    for n in active:
        print(f"{n:>6}  {active[n]:.3f}   {random[n]:.3f}")
    full = max(random)
    half = full // 2  # a checkpoint in both the default and the smoke settings
    verdict = "met" if active[half] >= random[full] else "NOT met"
    print(f"target (active@{half} >= random@{full}): {active[half]:.3f} vs {random[full]:.3f}: {verdict}")
    print(f"pool {result.pool_size}, evaluation {result.eval_size}; {time.perf_counter() - started:.0f} s; plot {args.out}")
    print(json.dumps(result.to_dict()["curves"]))


if __name__ == "__main__":
    main()
