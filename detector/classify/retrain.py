"""Retraining from analyst labels in the database plus the synthetic corpus.

Label mapping: `listing` -> 1, `not_listing` -> 0; `unsure` and `skip` rows are ignored.
Per message, a reviewer's decision outranks analysts'; within one rank the latest wins.
Labelled messages are split with `splits.assign_splits` (near-duplicate clusters stay on
one side); the test side is held out for the card and for `detector evaluate --compare --db`.
Weights replicate examples: 3 means every label counts three times, 0.5 keeps half.
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
from .evaluate import Labelled, evaluate_records
from .train import MIN_RECALL, Stage, _quiet_stage, data_hash, measure, model_version, render_card, train_model
from .registry import write_folder

DECISION_LABEL = {"listing": 1, "not_listing": 0}
ROLE_RANK = {"analyst": 0, "reviewer": 1}
LABEL_KIND = "analyst_label"


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
        resolved = {m: resolve_decision(rows) for m, rows in by_message.items()}
        ids = sorted(m for m, label in resolved.items() if label is not None)
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
    return [Example(m.text, m.label, m.language, LABEL_KIND, f"db/group-{int(g)}", side)
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
    labels_weight: float = 3.0
    synthetic_weight: float = 1.0
    n: int = 24_000
    seed: int = 7
    by_time: bool = False
    transformer: bool = True
    n_features: int = 2**19
    parent: str | None = None
    labels_val_fraction: float = 0.25  # of the labelled training side, kept for calibration and thresholds
    extra_card: dict[str, Any] = field(default_factory=dict)


def train_candidate(engine: Engine, config: RetrainConfig, stage: Stage = _quiet_stage) -> dict[str, Any]:
    """Train a candidate from labels + the synthetic corpus; write its folder; return its card.

    Validation (calibration, cascade band, threshold) = synthetic val + a cluster-aware share
    of the labelled training side; test = synthetic test + the labelled test side.
    """
    from ..synthetic.corpus import generate_corpus

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
    train = weighted(syn["train"], config.synthetic_weight, config.seed) + weighted(label_train, config.labels_weight, config.seed)
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
        "parent": config.parent,
        "training_data": {
            "source": "labels+synthetic", "n": len(everything), "seed": config.seed,
            "sha256": data_hash(everything),
            "splits": {"train": len(train), "val": len(val), "test": len(syn["test"]) + len(label_test)},
            "labels": {"count": len(labelled), "listings": sum(e.label for e in labelled),
                       "train": len(label_train), "val": len(label_val), "test": len(label_test),
                       "weight": config.labels_weight, "split": "time" if config.by_time else "cluster-hash"},
            "synthetic": {"count": len(synthetic), "weight": config.synthetic_weight},
        },
        "min_recall": MIN_RECALL,
        **config.extra_card,
    }
    metrics = measure(model, syn["test"], stage) if syn["test"] else {}
    if label_test:
        metrics["labels_test"] = _heldout_metrics(model, label_test)
    model.card["metrics"] = metrics
    write_folder(config.out, files, model.card, render_card(model.card))
    return model.card


def _heldout_metrics(model: Any, examples: Sequence[Example]) -> dict[str, Any]:
    report = evaluate_records(model, [Labelled(e.text, int(e.label), e.lang, e.kind) for e in examples])
    report.pop("model_version", None)
    report.pop("threshold", None)
    return report

