"""Text analysis gives the same outputs as the recorded reference, text for text.

`tests/data/analysis_recorded.jsonl.gz` holds, for the hand-written sets, the language and
signal tables, a generated corpus sample, long channel-like messages and random character
soups, what `analyse` returned when it was recorded: the normalised text and its offset map,
the language and confidence, every signal. Speed work on the text layer must keep all of it.
Record again only for a deliberate change of outputs:
`python -m tests.test_analysis_identical --record` (and explain the change).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from detector.text import analyse, language, normalise, signals

DATA = Path(__file__).resolve().parent / "data"
RECORDED = DATA / "analysis_recorded.jsonl.gz"
# Characters the normaliser treats specially: look-alikes, marks, invisibles, digits, fillers.
_SOUP = ("abcdeilmorstvxyz 0123456789 .-_*@$!|/+,:\n\t \u200c\u200d\u0640\u064b\u0650\u0301"
         "ابتسيةكلمنهوىأإآی ک گ پ ژ چ ێ ۆ ڕ ڵ ە ٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹ аеорсух αο ışçğöüêîû İ ẞ ﻻ ① ＄ 😀💰")


def _texts() -> list[str]:
    """Every text of the reference, in a fixed order."""
    texts: list[str] = []
    for path in [DATA / "handwritten_eval.jsonl", *sorted((DATA / "handwritten_test").glob("*.jsonl")),
                 DATA / "signals_table.jsonl", DATA / "signals_holdout.jsonl"]:
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in (DATA / "language_table.tsv", DATA / "language_holdout.tsv"):
        texts += [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()
                  if line and not line.startswith("#")]
    from detector.synthetic.corpus import generate_corpus

    corpus = [e.text for e in generate_corpus(4000, seed=11)]
    rng = random.Random(16)
    texts += corpus
    texts += ["\n".join(rng.sample(corpus, rng.randint(2, 5))) for _ in range(600)]  # channel-length messages
    texts += ["".join(rng.choice(_SOUP) for _ in range(rng.randint(1, 120))) for _ in range(600)]
    return texts


def _digest(values: Any) -> str:
    return hashlib.sha256(json.dumps(list(values)).encode()).hexdigest()[:16]


def _outputs(text: str) -> dict[str, Any]:
    result = analyse(text)
    norm = result.normalised
    return {"text": text, "normalised": norm.text, "map": _digest([*norm.starts, -1, *norm.ends]),
            "language": [result.language.code, result.language.confidence],
            "signals": [s.to_dict() for s in result.signals]}


def _recorded() -> list[dict[str, Any]]:
    with gzip.open(RECORDED, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def recorded() -> list[dict[str, Any]]:
    return _recorded()


def test_the_reference_covers_the_sets_it_names(recorded: list[dict[str, Any]]) -> None:
    assert len(recorded) > 6000
    assert sum(bool(r["signals"]) for r in recorded) > 3000
    assert {r["language"][0] for r in recorded} >= {"ar", "ckb", "kmr", "fa", "tr", "en", "und"}


def test_analysis_outputs_are_identical_to_the_recorded_ones(recorded: list[dict[str, Any]]) -> None:
    different = [r["text"] for r in recorded if _outputs(r["text"]) != r]
    assert not different, f"{len(different)} texts analysed differently, first: {different[:3]!r}"


def test_the_parts_agree_with_analyse_on_raw_text(recorded: list[dict[str, Any]]) -> None:
    """`language` and `signals` called on a raw string give what `analyse` recorded."""
    for r in recorded[::7]:
        assert [language(r["text"]).code, language(r["text"]).confidence] == r["language"]
        assert [s.to_dict() for s in signals(r["text"])] == r["signals"]
        assert normalise(r["text"]).text == r["normalised"]


def _record() -> None:
    with gzip.open(RECORDED, "wt", encoding="utf-8", compresslevel=9) as f:
        for text in _texts():
            f.write(json.dumps(_outputs(text), ensure_ascii=False) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    _record()
