"""Parser fuzzing, run long: the strategies of tests/test_parser_fuzz.py with fresh random seeds until time is up.

    python bench/fuzz_parsers.py                 # 10 minutes
    python bench/fuzz_parsers.py --minutes 60
    python bench/fuzz_parsers.py --smoke         # a few seconds: does the harness run?

Cycles through the targets (mutated Telegram JSON / HTML / WhatsApp exports, structured
JSON, calendar-edge dates, random bytes) in rounds of --round examples each. Every input
goes to detect_format and to its parser (and to the parser detect_format names, when that
differs), read whole; anything but a one-line InputError naming the file, a parse longer
than 10 s, or a record whose raw bytes are not the file's bytes at its offset is a failure:
Hypothesis shrinks it and the falsifying example is printed. Ends with calls per parser and
outcome ("ok" = records yielded, "InputError" = refused properly), examples per target
and the failures. Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import test_parser_fuzz as fuzz  # noqa: E402  (the strategies and the property live with the CI test)


def run_round(name: str, examples: int, tally: Counter[str]) -> str | None:
    """`examples` fresh examples of one target; the failure (type, message, falsifying example) or None."""
    strategy = fuzz.TARGETS[name]

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False, print_blob=True,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def target(case: tuple) -> None:
        tally[f"examples: {name}"] += 1
        fuzz.check_input(*case, tally=tally)

    try:
        target()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, and the run goes on
        notes = "\n".join(getattr(exc, "__notes__", []))
        last = traceback.format_exception(exc)[-1].strip()
        return f"{last[:2000]}\n{notes[:4000]}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz (default 10)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: a short round of every target")
    parser.add_argument("--round", type=int, default=300, help="examples per target per round (default 300)")
    args = parser.parse_args()
    budget = 0.0 if args.smoke else args.minutes * 60
    examples = 40 if args.smoke else args.round
    tally: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    fuzz.seeds()  # build the seed exports once, outside the timing
    started = time.perf_counter()
    rounds = 0
    while True:
        for name in fuzz.TARGETS:
            failure = run_round(name, examples, tally)
            if failure is not None:
                failures.append((name, failure))
                print(f"FAILURE in {name}:\n{failure}\n", flush=True)
        rounds += 1
        elapsed = time.perf_counter() - started
        print(f"round {rounds}: {elapsed:,.0f} s, {sum(v for k, v in tally.items() if k.startswith('examples')):,} examples,"
              f" {len(failures)} failure(s)", flush=True)
        if elapsed >= budget:
            break
    elapsed = time.perf_counter() - started
    total = sum(v for k, v in tally.items() if k.startswith("examples"))
    print(f"\n{total:,} examples in {elapsed:,.1f} s ({total / max(elapsed, 1e-9):,.0f}/s), {rounds} round(s)")
    for key in sorted(tally):
        print(f"  {key:<40} {tally[key]:>10,}")
    print(f"failures: {len(failures)}")
    for name, failure in failures:
        print(f"--- {name}\n{failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
