"""How fast the synthetic corpus is generated (messages per second), and its make-up.

    python bench/corpus.py [--n 24000] [--seed 0] [--smoke]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    args = parser.parse_args()

    from detector.synthetic.corpus import generate_corpus

    start = time.perf_counter()
    examples = generate_corpus(500 if args.smoke else args.n, args.seed)
    seconds = time.perf_counter() - start
    print(f"generated {len(examples)} messages in {seconds:.2f} s ({len(examples) / seconds:,.0f}/s, one core)")
    print("splits   ", dict(Counter(e.split for e in examples)))
    print("languages", dict(Counter(e.lang for e in examples)))
    print(f"listings  {sum(e.label for e in examples) / len(examples):.1%}")
    print(f"families  {len({e.family for e in examples})}")
    print(f"mean chars {sum(len(e.text) for e in examples) / len(examples):.0f}")


if __name__ == "__main__":
    main()
