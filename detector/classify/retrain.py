"""Retraining from analyst labels in the database plus the synthetic corpus.

Label mapping: `listing` -> 1, `not_listing` -> 0; `unsure` and `skip` rows are ignored.
Per message, a reviewer's decision outranks analysts'; within one rank the latest wins.
Labelled messages are split with `splits.assign_splits` (near-duplicate clusters stay on
one side); the test side is held out for the card and for `detector evaluate --compare --db`.
Weights replicate examples: 3 means every label counts three times, 0.5 keeps half. A label a
reviewer decided (kind `reviewed_label`) counts `labels_weight` times; one only analysts decided
(`analyst_label`) counts `unreviewed_weight` times, less by default, since it may be a mistake
no second person saw. The card and MODEL_CARD.md say what trained the candidate, its parent's
version, and each language's change against the parent with the tolerance promotion applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from ..db import session_scope
from ..errors import DetectorError
from ..schema import ClusterMember, Label, Message
from ..synthetic.corpus.example import Example
from .splits import TEST_FRACTION, assign_splits, group_ids, sample_families
from .evaluate import Labelled, evaluate_records, read_labelled
from .promotion import compare_models, tolerance
from .registry import load_model, write_folder
from .train import (HANDWRITTEN_EVAL, MIN_RECALL, Stage, _quiet_stage, data_hash, measure, model_version, render_card,
                    train_model)

DECISION_LABEL = {"listing": 1, "not_listing": 0}
ROLE_RANK = {"analyst": 0, "reviewer": 1}
LABEL_KIND = {"analyst": "analyst_label", "reviewer": "reviewed_label"}


@dataclass(frozen=True)
class LabelledMessage:
    """One message with its training label, as decided by people."""

    message_id: int
    text: str
    label: int
    language: str
    sent_at: datetime | None
    decided_by: str  # analyst | reviewer


def resolve_decision(labels: Sequence[tuple[str, str, datetime, int]]) -> int | None:
    """1, 0 or None from (role, decision, created_at, id) rows of one message."""
    decisive = [row for row in labels if row[1] in DECISION_LABEL and row[0] in ROLE_RANK]
    if not decisive:
        return None
    _role, decision, _at, _id = max(decisive, key=lambda r: (ROLE_RANK[r[0]], r[2], r[3]))
    return DECISION_LABEL[decision]


def labelled_messages(engine: Engine) -> list[LabelledMessage]:
    """Every message with a decisive label, with the label that wins (see module doc)."""
    by_message: dict[int, list[tuple[str, str, datetime, int]]] = {}
    with session_scope(engine) as session:
        for message_id, role, decision, created_at, label_id in session.execute(
            select(Label.message_id, Label.role, Label.decision, Label.created_at, Label.id).order_by(Label.id)
        ):
            by_message.setdefault(message_id, []).append((role, decision, created_at, label_id))
        resolved = {m: label for m, rows in by_message.items() if (label := resolve_decision(rows)) is not None}
        ids = sorted(resolved)
        out = []
        for start in range(0, len(ids), 500):
            rows = session.execute(select(Message.id, Message.text, Message.language, Message.sent_at)
                                   .where(Message.id.in_(ids[start:start + 500]))).all()
            for message_id, text, language, sent_at in rows:
                ranks = [ROLE_RANK.get(r[0], -1) for r in by_message[message_id]]
                out.append(LabelledMessage(message_id, text or "", int(resolved[message_id]), language or "und",
                                           sent_at, "reviewer" if max(ranks) >= 1 else "analyst"))
    return sorted(out, key=lambda m: m.message_id)


def stored_clusters(engine: Engine, message_ids: Sequence[int]) -> dict[int, int]:
    """The linking cluster of each message that has one."""
    found: dict[int, int] = {}
    with session_scope(engine) as session:
        for start in range(0, len(message_ids), 500):
            found.update(session.execute(select(ClusterMember.message_id, ClusterMember.cluster_id)
                                         .where(ClusterMember.message_id.in_(message_ids[start:start + 500]))).all())
    return found


def split_labelled(engine: Engine, messages: Sequence[LabelledMessage], *, by_time: bool = False,
                   test_fraction: float = TEST_FRACTION) -> list[Example]:
    """The labelled messages as Examples (family "db/group-N", split train|test), cluster-aware."""
    ids = [m.message_id for m in messages]
    groups = group_ids(ids, [m.text for m in messages], stored_clusters(engine, ids))
    sides = assign_splits(ids, groups, [m.sent_at for m in messages], by_time=by_time, test_fraction=test_fraction)
    return [Example(m.text, m.label, m.language, LABEL_KIND[m.decided_by], f"db/group-{int(g)}", side)
            for m, g, side in zip(messages, groups, sides)]


def heldout_examples(engine: Engine, *, by_time: bool = False) -> list[Example]:
    """The test side of the labelled messages (the same rule `train_candidate` uses)."""
    return [e for e in split_labelled(engine, labelled_messages(engine), by_time=by_time) if e.split == "test"]


def weighted(examples: Sequence[Any], weight: float, seed: int) -> list[Any]:
    """Each example `int(weight)` times, plus a seeded random share for the fraction."""
    if weight < 0:
        raise DetectorError(f"a weight must be 0 or more, not {weight}")
    whole, fraction = int(weight), weight - int(weight)
    order = np.random.default_rng(seed).permutation(len(examples))
    extra = [examples[i] for i in sorted(order[: int(round(fraction * len(examples)))])]
    return [e for e in examples for _ in range(whole)] + extra


@dataclass(frozen=True)
class RetrainConfig:
    out: Path
    labels_weight: float = 3.0  # of each reviewed label
    unreviewed_weight: float = 1.5  # of each label no reviewer decided
    synthetic_weight: float = 1.0
    n: int = 24_000
    seed: int = 7
    by_time: bool = False
    transformer: bool = True
    n_features: int = 2**19
    parent: str | None = None  # a model folder name or path; its version goes on the card
    labels_val_fraction: float = 0.25  # of the labelled training side, kept for calibration and thresholds
    extra_card: dict[str, Any] = field(default_factory=dict)


def train_candidate(engine: Engine, config: RetrainConfig, stage: Stage = _quiet_stage) -> dict[str, Any]:
    """Train a candidate from labels + the synthetic corpus; write its folder; return its card.

    Validation (calibration, cascade band, threshold) = synthetic val + a cluster-aware share
    of the labelled training side; test = synthetic test + the labelled test side.
    """
    from ..synthetic.corpus import generate_corpus

    parent = load_model(config.parent) if config.parent else None
    advance = stage("Reading labels from the database", 1)
    messages = labelled_messages(engine)
    labelled = split_labelled(engine, messages, by_time=config.by_time)
    advance(1)
    train_side = [e for e in labelled if e.split == "train"]
    val_names = sample_families(train_side, config.labels_val_fraction, config.seed)
    label_train = [e for e in train_side if e.family not in val_names]
    label_val = [replace(e, split="val") for e in train_side if e.family in val_names]
    label_test = [e for e in labelled if e.split == "test"]
    advance = stage("Generating the synthetic corpus", 1)
    synthetic = generate_corpus(config.n, config.seed) if config.synthetic_weight > 0 else []
    advance(1)
    syn = {s: [e for e in synthetic if e.split == s] for s in ("train", "val", "test")}
    reviewed = [e for e in label_train if e.kind == LABEL_KIND["reviewer"]]
    unreviewed = [e for e in label_train if e.kind == LABEL_KIND["analyst"]]
    train = (weighted(syn["train"], config.synthetic_weight, config.seed) + weighted(reviewed, config.labels_weight, config.seed)
             + weighted(unreviewed, config.unreviewed_weight, config.seed))
    val = syn["val"] + label_val
    if len({int(e.label) for e in train}) < 2 or len({int(e.label) for e in val}) < 2:
        raise DetectorError("not enough data to train: both listings and other messages are needed in "
                            "training and validation (add labels or keep --synthetic-weight above 0)")
    model, files = train_model(train, val, transformer=config.transformer, seed=config.seed,
                               n_features=config.n_features, stage=stage)
    when = datetime.now(timezone.utc)
    everything = [*synthetic, *labelled]
    model.card |= {
        "name": config.out.name,
        "version": model_version(config.out.name, files, model.card, when),
        "created": when.isoformat(timespec="seconds"),
        "parent": parent.version if parent else None,
        "parent_name": Path(config.parent).name if config.parent else None,
        "training_data": {
            "source": "labels+synthetic", "n": len(everything), "seed": config.seed,
            "sha256": data_hash(everything),
            "splits": {"train": len(train), "val": len(val), "test": len(syn["test"]) + len(label_test)},
            "labels": {"count": len(labelled), "listings": sum(e.label for e in labelled),
                       "reviewed": sum(e.kind == LABEL_KIND["reviewer"] for e in labelled),
                       "train": len(label_train), "val": len(label_val), "test": len(label_test),
                       "weight": config.labels_weight, "unreviewed_weight": config.unreviewed_weight,
                       "split": "time" if config.by_time else "cluster-hash"},
            "synthetic": {"count": len(synthetic), "weight": config.synthetic_weight},
        },
        "min_recall": MIN_RECALL,
        **config.extra_card,
    }
    metrics = measure(model, syn["test"], stage) if syn["test"] else {}
    if label_test:
        metrics["labels_test"] = _heldout_metrics(model, label_test)
    model.card["metrics"] = metrics
    if parent:
        model.card["against_parent"] = against_parent(parent, model, label_test)
    write_folder(config.out, files, model.card, retrain_card(model.card))
    return model.card


def against_parent(parent: Any, candidate: Any, label_test: Sequence[Example]) -> dict[str, Any]:
    """Each language's F1, parent vs candidate, on the held-out data `models promote` uses by
    default (the hand-written development set plus the labelled test side), with the tolerance."""
    records = (read_labelled(HANDWRITTEN_EVAL)[0] if HANDWRITTEN_EVAL.is_file() else [])
    records += [Labelled(e.text, int(e.label), e.lang, e.kind) for e in label_test]
    comparison = compare_models(parent, candidate, records)
    rows = {}
    for language, cur in comparison["current"]["by_language"].items():
        cand = comparison["candidate"]["by_language"].get(language, {}).get("model", {})
        rows[language] = {"n": cur["model"]["n"], "listings": cur["model"]["positives"],
                          "parent_f1": cur["model"]["f1"], "candidate_f1": cand.get("f1"),
                          "tolerance": tolerance(cur["model"]["positives"])}
    return {"records": len(records), "by_language": rows, "worse": [d["language"] for d in comparison["worse"]]}


def retrain_card(card: dict[str, Any]) -> str:
    """MODEL_CARD.md of a retrained candidate: what trained it and how it compares with its parent,
    then the metrics and limits every model card has (`train.render_card`)."""
    data, labels = card["training_data"], card["training_data"]["labels"]
    body = render_card(card).split("\n")
    trained = next(i for i, line in enumerate(body) if line.startswith("Trained "))
    unreviewed = labels["count"] - labels["reviewed"]
    lines = [
        f"Retrained {card['created']} from **{labels['count']} analyst labels** in the database "
        f"({labels['reviewed']} decided by a reviewer, {unreviewed} by analysts only; {labels['listings']} listings; "
        f"{labels['train']} train, {labels['val']} validation, {labels['test']} held out, split by {labels['split']}) "
        f"plus {data['synthetic']['count']} messages of the project's synthetic corpus (seed {data['seed']}); "
        f"{data['n']} messages in all, SHA-256 `{data['sha256']}`; splits {data['splits']}.",
        f"Weights: each reviewed label counts {labels['weight']}, each unreviewed label {labels['unreviewed_weight']}, "
        f"each synthetic message {data['synthetic']['weight']}.",
        f"Parent: {card['parent'] or 'none'}" + (f" (folder {card['parent_name']})." if card.get("parent_name") else "."),
    ]
    return "\n".join([*body[:trained], *lines, *body[trained + 1:], *_parent_section(card.get("against_parent"))])


def _parent_section(comparison: dict[str, Any] | None) -> list[str]:
    if not comparison:
        return []
    def f1(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"
    lines = ["## Against the parent", "",
             f"On {comparison['records']} held-out messages (the hand-written development set and the held-out labels). "
             "`detector models promote` refuses a candidate whose F1 in a language is below the current model's by more "
             "than the tolerance (one message's worth of F1, at least 0.01).", "",
             "| language | n | listings | parent F1 | candidate F1 | change | tolerance | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for language, row in comparison["by_language"].items():
        both = row["parent_f1"] is not None and row["candidate_f1"] is not None
        change = f"{row['candidate_f1'] - row['parent_f1']:+.3f}" if both else "—"
        verdict = "worse" if language in comparison["worse"] else "within tolerance" if both else "not compared"
        lines.append(f"| {language} | {row['n']} | {row['listings']} | {f1(row['parent_f1'])} | {f1(row['candidate_f1'])} "
                     f"| {change} | {row['tolerance']:.3f} | {verdict} |")
    worse = ", ".join(comparison["worse"]) or "no language"
    return [*lines, "", f"Worse beyond the tolerance in: {worse}.", ""]


def _heldout_metrics(model: Any, examples: Sequence[Example]) -> dict[str, Any]:
    report = evaluate_records(model, [Labelled(e.text, int(e.label), e.lang, e.kind) for e in examples])
    report.pop("model_version", None)
    report.pop("threshold", None)
    return report

