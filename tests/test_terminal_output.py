"""What the terminal shows (issue 21, item 12): ingest's progress counts messages as messages and
bytes as bytes; `detector evaluate` tables fit in 100 columns."""

from __future__ import annotations

import io

from rich.console import Console

from detector.ingest.commands import RichProgress


def _shown(progress: RichProgress) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(progress.bar.make_tasks_table(progress.bar.tasks))
    return out.getvalue()


def test_ingest_progress_counts_messages_as_messages_and_bytes_as_bytes():
    progress = RichProgress(Console(file=io.StringIO()))
    progress.start(6_000)
    progress.file("chat.json")
    progress.advance(3_000)
    progress.analysing(6_000)
    progress.analysed(3_000)
    reading, analysing = _shown(progress).splitlines()[:2]
    assert "chat.json" in reading and "3.0/6.0 kB" in reading
    assert "analysing text" in analysing and "3,000/6,000 messages" in analysing and "kB" not in analysing


def _metrics(n: int) -> dict:
    return {"n": n, "positives": n // 3, "precision": 0.912, "recall": 0.873, "f1": 0.892, "pr_auc": 0.951,
            "false_positive_rate": 0.043}


def _group(n: int) -> dict:
    field = {"minor_recall": 0.9, "news_fp_rate": 0.125, "appeal_fp_rate": None, "confidently_wrong": 0.031}
    return {"model": _metrics(n), "baseline": _metrics(n), "field": field}


def test_evaluate_tables_fit_in_100_columns():
    from detector.classify.evaluate import render_report

    report = {"model_version": "cascade-2025-03-07-a1b2c3d4e5f6", "threshold": 0.4375, "overall": _group(123_456),
              "by_language": {lang: _group(20_576) for lang in ("ar", "ckb", "kmr", "fa", "tr", "en", "mixed")},
              "by_kind": {kind: _group(9_999) for kind in ("listing", "news_quoting_a_listing_with_a_long_name",
                                                           "ransom_appeal", "auction_reply")}}
    out = io.StringIO()
    render_report(report, Console(file=out, width=160, color_system=None))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    assert any("news_quoting" in line and "0.912" in line for line in lines)  # long names fold, figures stay
