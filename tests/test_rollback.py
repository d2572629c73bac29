"""Promotion and rollback move the queue with the model: promote -> rollback -> promote, and
after each step every queue item (flagged set and score row) is the model in use's verdict."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from detector.classify.evaluate import Labelled
from detector.classify.promotion import promote
from detector.classify.registry import load_model, npz_bytes, open_folder, write_folder
from detector.classify.scoring import score_unscored
from detector.cli import main
from detector.config import Settings
from detector.db import session_scope
from detector.schema import AuditEvent, Label, Message, QueueItem, Score, User
from labeling.queue import refresh_queue
from labeling_support import Item, make_users, store_items

RECORDS = [Labelled("Girl 14 years for sale, 900 dollars, call 0770 111 2222", 1, "en", "test"),
           Labelled("Selling my old bicycle, 40 dollars", 0, "en", "test")]


@pytest.fixture
def models_dir(tmp_path, tiny_model_dir, monkeypatch) -> Path:
    """The tiny model as `default` and a variant that ranks messages otherwise."""
    folder = tmp_path / "models"
    shutil.copytree(tiny_model_dir, folder / "default")
    _variant(folder / "default", folder / "variant", _texts(0, 60))
    monkeypatch.setenv("DETECTOR_MODELS_DIR", str(folder))
    monkeypatch.setenv("DETECTOR_ACTOR", "researcher")
    return folder


def _variant(source: Path, target: Path, texts: list[str]) -> Path:
    """The tiny model reading words backwards (text weights negated, risk signals kept), its
    threshold at the median of its scores on `texts`: it flags some messages the original does
    not and leaves some the original flags, whatever the original learnt."""
    folder = open_folder(source)
    files = {n: (source / n).read_bytes() for n in folder.card["files"] if n != "MODEL_CARD.md"}
    weights = dict(np.load(source / "fast_tier.npz", allow_pickle=False))
    files["fast_tier.npz"] = npz_bytes({"ngram_coef": -weights["ngram_coef"], "signal_coef": weights["signal_coef"]})
    card = {k: v for k, v in folder.card.items() if k not in ("files", "format")}
    card |= {"version": "variant-1", "name": "variant"}
    write_folder(target, files, card, "# variant\n")
    probabilities = [p.probability for p in load_model(target).predict(texts, explain=False)]
    return write_folder(target, files, card | {"threshold": float(np.median(probabilities))}, "# variant\n")


def _texts(start: int, count: int) -> list[str]:
    from detector.synthetic.corpus import generate_corpus

    return [e.text for e in generate_corpus(400, 11)][start:start + count]


def _messages(engine, start: int, count: int) -> list[int]:
    """Synthetic listings and others, stored unanalysed so each model reads their signals itself."""
    items = [Item(t, probability=0.0, flagged=False, minutes=n, channel=f"market-{start}")
             for n, t in enumerate(_texts(start, count))]
    ids = store_items(engine, items, model_version="ingest-0")
    with session_scope(engine) as s:
        s.execute(update(Message).where(Message.id.in_(ids)).values(language=None, signals=None))
    return ids


def _queue_follows(engine, version: str) -> tuple[set[int], dict[int, int]]:
    """Assert every queue item shows `version`'s score; returns its flagged set and item states."""
    with session_scope(engine) as s:
        refresh_queue(s)
        scores = {m: (i, f, p) for m, i, f, p in s.execute(
            select(Score.message_id, Score.id, Score.flagged, Score.probability).where(Score.model_version == version))}
        items = {m: (i, f, p) for m, i, f, p in s.execute(
            select(QueueItem.message_id, QueueItem.score_id, QueueItem.flagged, QueueItem.probability))}
        states = dict(s.execute(select(QueueItem.message_id, QueueItem.state)).all())
    assert set(items) <= set(scores), "an item shows a message the model in use never scored"
    assert {m for m, (_, f, _) in items.items() if f} == {m for m, (_, f, _) in scores.items() if f}
    for message_id, (score_id, flagged, probability) in items.items():
        assert score_id == scores[message_id][0], f"item {message_id} shows another model's score"
        assert not flagged or probability == scores[message_id][2]
    return {m for m, (_, f, _) in items.items() if f}, states


def test_promote_rollback_promote_keeps_the_queue_on_the_model_in_use(people, db_url, models_dir) -> None:
    engine, settings = people, Settings.from_env()
    default, variant = load_model(models_dir / "default"), load_model(models_dir / "variant")
    first = _messages(engine, 0, 60)
    score_unscored(engine, settings, model=default)
    by_default, _ = _queue_follows(engine, default.version)
    decided = sorted(by_default)[0]
    with session_scope(engine) as s:
        ann = s.scalar(select(User.id).where(User.name == "ann"))
        s.add(Label(message_id=decided, user_id=ann, role="analyst", decision="listing"))
        s.execute(update(QueueItem).where(QueueItem.message_id == decided).values(state="awaiting_review"))

    promote(settings, "variant", RECORDS, engine=engine, actor="researcher", force=True)
    score_unscored(engine, settings, model=variant)
    by_variant, _ = _queue_follows(engine, variant.version)
    assert by_variant - by_default and by_default - by_variant  # the two models disagree both ways
    later = _messages(engine, 60, 20)  # ingested while the variant is in use: only it scores them
    assert score_unscored(engine, settings, model=variant).scored == len(later)
    by_variant, _ = _queue_follows(engine, variant.version)

    result = CliRunner().invoke(main, ["models", "rollback", "--db", db_url, "--no-rescore"])
    assert result.exit_code == 0, result.output
    assert f"Rolled back from variant to default ({default.version})" in result.output
    assert f"{len(later)} messages it never scored" in result.output
    rescored = score_unscored(engine, settings, model=default)
    assert rescored.scored == len(later)  # only the messages it never scored
    restored, states = _queue_follows(engine, default.version)
    assert restored & set(first) == by_default and states[decided] == "awaiting_review"

    again = promote(settings, "variant", RECORDS, engine=engine, actor="researcher", force=True)
    assert again["queue"]["queued"] == len(by_variant)
    assert score_unscored(engine, settings, model=variant).scored == 0  # its stored scores are used
    assert _queue_follows(engine, variant.version)[0] == by_variant


def test_a_new_item_from_a_restore_takes_its_review_state_from_labels(people, models_dir) -> None:
    engine, settings = people, Settings.from_env()
    _messages(engine, 0, 60)
    variant = load_model(models_dir / "variant")
    score_unscored(engine, settings, model=variant)  # scored by the variant, never queued from it
    with session_scope(engine) as s:
        only_variant = s.scalar(select(Score.message_id).where(Score.model_version == variant.version,
                                                               Score.flagged.is_(True)).limit(1))
        rev = s.scalar(select(User.id).where(User.name == "rev"))
        s.add(Label(message_id=only_variant, user_id=rev, role="reviewer", decision="not_listing"))
    promote(settings, "variant", RECORDS, engine=engine, actor="researcher", force=True)
    _, states = _queue_follows(engine, variant.version)
    assert states[only_variant] == "not_listing"


def test_an_empty_actor_falls_back_to_the_os_user_name(people, db_url, models_dir, monkeypatch) -> None:
    import getpass

    monkeypatch.setenv("DETECTOR_ACTOR", "")
    promote(Settings.from_env(), "variant", RECORDS, engine=people, actor="  ", force=True)
    result = CliRunner().invoke(main, ["models", "rollback", "--db", db_url, "--no-rescore"])
    assert result.exit_code == 0, result.output
    with session_scope(people) as s:
        actors = s.scalars(select(AuditEvent.actor).where(AuditEvent.object_type == "model")).all()
    assert actors == [getpass.getuser()] * 2 and actors[0].strip()


@pytest.fixture
def people(engine):
    make_users(engine, ("ann", "analyst"), ("rev", "reviewer"))
    return engine
