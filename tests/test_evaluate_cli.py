"""`detector evaluate`: metrics overall, per language and per kind, beside the keyword baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from detector.classify.evaluate import binary_metrics, parse_label
from detector.cli import main


def test_binary_metrics_by_hand() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    flagged = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.1, 0.0])
    m = binary_metrics(y, flagged, scores)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["false_positive_rate"] == pytest.approx(1 / 5)
    assert m["pr_auc"] == pytest.approx((1 + 1 + 3 / 4) / 3)
    negatives_only = binary_metrics(np.zeros(4, int), np.array([1, 0, 0, 0], bool), np.zeros(4))
    assert negatives_only["recall"] is None and negatives_only["false_positive_rate"] == 0.25


def test_labels_in_several_spellings() -> None:
    assert [parse_label(v) for v in (1, 0, True, "listing", "not_listing", "0", "maybe", 2, None)] == [
        1, 0, 1, 1, 0, 0, None, None, None]


@pytest.fixture
def data(tmp_path):
    from detector.synthetic.corpus import generate_corpus

    examples = [e for e in generate_corpus(1500, 11) if e.split == "test"][:200]
    lines = [json.dumps({"text": e.text, "label": int(e.label), "lang": e.lang, "kind": e.kind}, ensure_ascii=False)
             for e in examples]
    lines += ["{broken", json.dumps({"label": 1}), json.dumps({"text": "no label"}), json.dumps({"text": "x", "label": "?"})]
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, examples


def test_json_report_has_every_language_and_kind_and_the_baseline(tiny_model_dir, data) -> None:
    path, examples = data
    result = CliRunner().invoke(main, ["evaluate", str(path), "--model", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["skipped"] == 4 and report["overall"]["model"]["n"] == len(examples)
    assert set(report["by_language"]) == {e.lang for e in examples}
    assert set(report["by_kind"]) == {e.kind for e in examples}
    overall = report["overall"]
    assert 0 <= overall["model"]["pr_auc"] <= 1 and overall["baseline"]["n"] == len(examples)
    assert overall["model"]["f1"] > overall["baseline"]["f1"]


def test_table_output_names_languages_and_the_keyword_baseline(tiny_model_dir, data) -> None:
    path, _examples = data
    result = CliRunner().invoke(main, ["evaluate", str(path), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert "Language" in result.stdout and "keyword baseline" in result.stdout and "kw F1" in result.stdout
    assert "4 lines skipped" in result.stdout


def test_a_file_without_any_usable_line_is_a_clear_error(tiny_model_dir, tmp_path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text('{"text": "no label"}\n')
    result = CliRunner().invoke(main, ["evaluate", str(path), "--model", str(tiny_model_dir)])
    assert result.exit_code == 1 and "empty.jsonl: no usable line" in result.output


def test_a_folder_is_evaluated_with_minors_news_and_appeals_counted(tiny_model_dir, tmp_path) -> None:
    rows = {
        "a.jsonl": [{"text": "girl for sale 14 years 3000$", "label": 1, "lang": "en", "kind": "sale", "minor": True},
                    {"text": "woman for sale 24 years 3000$", "label": 1, "lang": "en", "kind": "sale", "minor": False}],
        "b.jsonl": [{"text": "An ad offered a 14-year-old girl for $3,000, reporters said", "label": 0, "lang": "en",
                     "kind": "news_quote"},
                    {"text": "my sister is 15, they ask 8000 dollars to free her", "label": 0, "lang": "en",
                     "kind": "ransom_appeal"},
                    {"text": "1800 from me", "label": 1, "lang": "en", "kind": "auction_followup", "minor": True,
                     "context": ["Auction: captive girl 13, opening bid 1000$"]}],
    }
    for name, items in rows.items():
        (tmp_path / name).write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--model", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["overall"]["model"]["n"] == 5 and report["overall"]["model"]["positives"] == 3
    field = report["overall"]["field"]
    assert set(field) == {"minor_recall", "news_fp_rate", "appeal_fp_rate", "confidently_wrong"}
    assert field["minor_recall"] in (0.0, 0.5, 1.0) and field["news_fp_rate"] in (0.0, 1.0)
    table = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--model", str(tiny_model_dir)])
    assert table.exit_code == 0 and "minor recall" in table.stdout and "news FP" in table.stdout
