"""Evaluation: precision, recall, F1 and PR-AUC overall, per language and per kind,
with the analysts' keyword alert beside the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .inputs import json_objects

TRUE_LABELS = {"1", "true", "yes", "listing", "positive"}
FALSE_LABELS = {"0", "false", "no", "not_listing", "negative"}


@dataclass(frozen=True)
class Labelled:
    text: str
    label: int
    lang: str | None = None
    kind: str | None = None


def parse_label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_LABELS:
            return 1
        if lowered in FALSE_LABELS:
            return 0
    return None


def read_labelled(path: str | Path) -> tuple[list[Labelled], int]:
    """Records with `text` and `label` (optional `lang`, `kind`) and the count of lines skipped."""
    records: list[Labelled] = []
    skipped = 0
    for row in json_objects(path):
        label = parse_label(row.get("label")) if row is not None else None
        if label is None or not isinstance(row.get("text"), str):
            skipped += 1
            continue
        lang, kind = row.get("lang"), row.get("kind")
        records.append(Labelled(row["text"], label, lang if isinstance(lang, str) else None,
                                kind if isinstance(kind, str) else None))
    if not records:
        raise InputError(path, f"no usable line (a JSON object with text and label); {skipped} skipped")
    return records, skipped


def binary_metrics(y: np.ndarray, flagged: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """n, positives, flagged rate, precision, recall, F1 and PR-AUC (None where undefined)."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y, dtype=int)
    flagged = np.asarray(flagged, dtype=bool)
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    positives, negatives = int((y == 1).sum()), int((y == 0).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / positives if positives else None
    f1 = 2 * tp / (tp + fp + positives) if positives else None
    both = positives and negatives
    return {
        "n": int(len(y)),
        "positives": positives,
        "flagged": int(flagged.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pr_auc": float(average_precision_score(y, scores)) if both else None,
        "false_positive_rate": fp / negatives if negatives else None,
    }


def grouped(keys: Sequence[str], metric: Callable[[np.ndarray], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return {key: metric(np.asarray(idx)) for key, idx in sorted(groups.items())}


def evaluate_records(model: Any, records: Sequence[Labelled], baseline: Callable[[str], bool] | None = None,
                     progress: Callable[[int], None] | None = None, batch_size: int = 512) -> dict[str, Any]:
    """Score the records with `model` and the keyword baseline; metrics overall, by language, by kind."""
    if baseline is None:
        from .baseline import keyword_alert as baseline
    texts = [r.text for r in records]
    scores = np.zeros(len(texts))
    flagged = np.zeros(len(texts), dtype=bool)  # as the model flags, not recomputed from a rounded score
    languages: list[str] = []
    for start in range(0, len(texts), batch_size):
        batch = model.predict(texts[start : start + batch_size], explain=False)
        scores[start : start + len(batch)] = [p.probability for p in batch]
        flagged[start : start + len(batch)] = [p.flagged for p in batch]
        languages += [p.language for p in batch]
        if progress:
            progress(len(batch))
    y = np.array([r.label for r in records])
    keyword = np.array([bool(baseline(t)) for t in texts])
    langs = [r.lang or detected for r, detected in zip(records, languages)]
    kinds = [r.kind or ("listing" if r.label else "other") for r in records]

    def both(idx: np.ndarray) -> dict[str, Any]:
        return {
            "model": binary_metrics(y[idx], flagged[idx], scores[idx]),
            "baseline": binary_metrics(y[idx], keyword[idx], keyword[idx].astype(float)),
        }

    return {
        "model_version": model.version,
        "threshold": model.threshold,
        "overall": both(np.arange(len(y))),
        "by_language": grouped(langs, both),
        "by_kind": grouped(kinds, both),
    }


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_report(report: dict[str, Any], console: Any, title: str = "") -> None:
    """Rich tables: model beside keyword baseline, overall, per language and per kind."""
    from rich.markup import escape
    from rich.table import Table

    columns = ("precision", "recall", "f1", "pr_auc", "false_positive_rate")
    for section, label in (("overall", "Overall"), ("by_language", "Language"), ("by_kind", "Kind")):
        rows: Iterable[tuple[str, dict[str, Any]]] = (
            [("all", report["overall"])] if section == "overall" else report[section].items()
        )
        table = Table(title=f"{title}{label} — model {report['model_version']} (threshold {report['threshold']:.3f}) vs keyword baseline")
        table.add_column(label)
        table.add_column("n", justify="right")
        table.add_column("listings", justify="right")
        for name in ("P", "R", "F1", "PR-AUC", "FP rate"):
            table.add_column(name, justify="right")
        for name in ("base P", "base R", "base F1", "base FP"):
            table.add_column(name, justify="right", style="dim")
        for key, value in rows:
            model, base = value["model"], value["baseline"]
            table.add_row(
                escape(key), str(model["n"]), str(model["positives"]),
                *(_fmt(model[c]) for c in columns),
                *(_fmt(base[c]) for c in ("precision", "recall", "f1", "false_positive_rate")),
            )
        console.print(table)
