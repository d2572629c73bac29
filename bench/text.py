"""Speed of the text layer: normalise + language + signals (`analyse`) in messages/s, one core.

    python bench/text.py [--seconds 2] [--smoke]

Messages are the hand-written language table (short marketplace and everyday messages in
the six languages) plus the signal table; figures are per language and overall.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from detector.text import analyse, language, normalise, signals

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def messages() -> dict[str, list[str]]:
    """Messages grouped by their language code."""
    groups: dict[str, list[str]] = defaultdict(list)
    for line in (DATA / "language_table.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, text = line.split("\t", 1)
            groups[code].append(text)
    for line in (DATA / "signals_table.jsonl").read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        groups[language(text).code].append(text)
    return {code: texts for code, texts in groups.items() if code in ("ar", "ckb", "kmr", "fa", "tr", "en")}


def rate(fn, texts: list, seconds: float) -> float:
    """Messages per CPU-second of `fn` over `texts`, repeated for about `seconds` of CPU.

    CPU time, not wall time: on a shared machine the wall clock also counts the time other
    processes hold the core.
    """
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 0.02
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    groups = messages()
    analyse("warm up")
    print(f"load average {os.getloadavg()[0]:.1f}; rates are messages per CPU-second on one core\n")
    print("| language | messages | analyse/s | normalise/s | language/s | signals/s |")
    print("|---|---|---|---|---|---|")
    everything = [t for texts in groups.values() for t in texts]
    for code, texts in [*groups.items(), ("all", everything)]:
        normalised = [normalise(t) for t in texts]
        figures = [rate(analyse, texts, args.seconds), rate(normalise, texts, args.seconds / 2),
                   rate(language, normalised, args.seconds / 2), rate(signals, normalised, args.seconds / 2)]
        print(f"| {code} | {len(texts)} | " + " | ".join(f"{f:,.0f}" for f in figures) + " |")


if __name__ == "__main__":
    main()
