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


NEWS_KINDS = frozenset({"news", "news_quote", "advocacy"})
APPEAL_KINDS = frozenset({"ransom_appeal", "rescue_appeal"})
CONFIDENTLY_WRONG = 0.05  # a listing scored below this is confidently missed


@dataclass(frozen=True)
class Labelled:
    text: str
    label: int
    lang: str | None = None
    kind: str | None = None
    minor: bool | None = None  # a listing of a child
    context: tuple[str, ...] = ()  # earlier messages of its thread


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
    """Records with `text` and `label` (optional `lang`, `kind`, `minor`, `context`) and the count
    of lines skipped. `path` is a JSON Lines file or a folder of them (read in name order)."""
    records: list[Labelled] = []
    skipped = 0
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    for row in (row for file in files for row in json_objects(file)):
        label = parse_label(row.get("label")) if row is not None else None
        if row is None or label is None or not isinstance(row.get("text"), str):
            skipped += 1
            continue
        lang, kind, context = row.get("lang"), row.get("kind"), row.get("context")
        records.append(Labelled(row["text"], label, lang if isinstance(lang, str) else None,
                                kind if isinstance(kind, str) else None,
                                row["minor"] if isinstance(row.get("minor"), bool) else None,
                                tuple(c for c in context if isinstance(c, str)) if isinstance(context, list) else ()))
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
        from .baseline import keyword_alert

        baseline = keyword_alert
    texts = [r.text for r in records]
    contexts = [list(r.context) for r in records]
    scores = np.zeros(len(texts))
    flagged = np.zeros(len(texts), dtype=bool)  # as the model flags, not recomputed from a rounded score
    languages: list[str] = []
    for start in range(0, len(texts), batch_size):
        batch = model.predict(texts[start : start + batch_size], explain=False,
                              contexts=contexts[start : start + batch_size])
        scores[start : start + len(batch)] = [p.probability for p in batch]
        flagged[start : start + len(batch)] = [p.flagged for p in batch]
        languages += [p.language for p in batch]
        if progress:
            progress(len(batch))
    y = np.array([r.label for r in records])
    keyword = np.array([bool(baseline(t)) for t in texts])
    langs = [r.lang or detected for r, detected in zip(records, languages)]
    kinds = [r.kind or ("listing" if r.label else "other") for r in records]

    minors = np.array([bool(r.minor) and r.label == 1 for r in records])
    news = np.array([r.kind in NEWS_KINDS and r.label == 0 for r in records])
    appeals = np.array([r.kind in APPEAL_KINDS and r.label == 0 for r in records])

    def share(mask: np.ndarray, of: np.ndarray) -> float | None:
        return float(of[mask].mean()) if mask.any() else None

    def both(idx: np.ndarray) -> dict[str, Any]:
        listings = y[idx] == 1
        return {
            "model": binary_metrics(y[idx], flagged[idx], scores[idx]),
            "baseline": binary_metrics(y[idx], keyword[idx], keyword[idx].astype(float)),
            "field": {
                "minor_recall": share(minors[idx], flagged[idx]),
                "news_fp_rate": share(news[idx], flagged[idx]),
                "appeal_fp_rate": share(appeals[idx], flagged[idx]),
                "confidently_wrong": share(listings, scores[idx] < CONFIDENTLY_WRONG),
            },
        }

    return {
        "model_version": model.version,
        "threshold": model.threshold,
        "overall": both(np.arange(len(y))),
        "by_language": grouped(langs, both),
        "by_kind": grouped(kinds, both),
    }


TABLE_NAME_WIDTH = 16  # a longer language or kind name folds onto a second line


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_report(report: dict[str, Any], console: Any, title: str = "") -> None:
    """Rich tables: model beside keyword baseline, overall, per language and per kind; each
    fits in 100 columns (no vertical rules, long names folded)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    columns = ("precision", "recall", "f1", "pr_auc", "false_positive_rate")
    for section, label in (("overall", "Overall"), ("by_language", "Language"), ("by_kind", "Kind")):
        rows: Iterable[tuple[str, dict[str, Any]]] = (
            [("all", report["overall"])] if section == "overall" else report[section].items()
        )
        table = Table(title=f"{title}{label} — model {report['model_version']} (threshold {report['threshold']:.3f}) vs keyword baseline",
                      caption="AUC: area under the precision-recall curve; FPR: false-positive rate; kw: keyword baseline",
                      box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
        table.add_column(label, max_width=TABLE_NAME_WIDTH, overflow="fold")
        table.add_column("n", justify="right")
        table.add_column("listings", justify="right")
        for name in ("P", "R", "F1", "AUC", "FPR"):
            table.add_column(name, justify="right")
        for name in ("kw P", "kw R", "kw F1", "kw FPR"):
            table.add_column(name, justify="right", style="dim")
        for key, value in rows:
            model, base = value["model"], value["baseline"]
            table.add_row(
                escape(key), str(model["n"]), str(model["positives"]),
                *(_fmt(model[c]) for c in columns),
                *(_fmt(base[c]) for c in ("precision", "recall", "f1", "false_positive_rate")),
            )
        console.print(table)
    field = Table(title=f"{title}Field figures — recall on listings of minors, false alarms on news and appeals, "
                        f"listings scored below {CONFIDENTLY_WRONG}", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Language", "minor recall", "news FP", "appeal FP", "confidently wrong"):
        field.add_column(name, justify="left" if name == "Language" else "right")
    for key, value in [("all", report["overall"]), *report["by_language"].items()]:
        f = value["field"]
        field.add_row(escape(key), *(_fmt(f[c]) for c in ("minor_recall", "news_fp_rate", "appeal_fp_rate",
                                                          "confidently_wrong")))
    console.print(field)
