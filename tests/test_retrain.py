"""The retraining loop: labels from the database, cluster-aware and time splits, candidates,
comparison, promotion/rollback with audit, background rescoring, active-learning order."""

from __future__ import annotations

import functools
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from detector.classify.active_learning import select_batch, uncertainty
from detector.classify.evaluate import read_labelled
from detector.classify.pointer import read_pointer
from detector.classify.promotion import promote, rescore_in_background, rollback, tolerance
from detector.classify.registry import load_model, open_folder, resolve_model_path, write_folder
from detector.classify.retrain import RetrainConfig, labelled_messages, split_labelled, train_candidate, weighted
from detector.classify.splits import assign_splits, group_ids
from detector.classify.train import HANDWRITTEN_EVAL
from detector.cli import main
from detector.config import Settings
from detector.db import session_scope
from detector.errors import DetectorError
from detector.schema import AuditEvent, Cluster, ClusterMember, Label, Score, User
from labeling.queue import QueueFilter, list_items, refresh_queue
from labeling_support import T0, Item, make_users, store_items

@functools.lru_cache(maxsize=1)
def _corpus() -> list:
    from detector.synthetic.corpus import generate_corpus

    return generate_corpus(1200, 5)


def _corpus_of(n: int, seed: int) -> list:
    from detector.synthetic.corpus import generate_corpus

    return generate_corpus(n, seed)


def _texts(count: int, start: int = 0) -> list[Item]:
    """Varied synthetic messages (alternating listing / other), one a minute."""
    listings = [e.text for e in _corpus() if e.label == 1]
    others = [e.text for e in _corpus() if e.label == 0]
    return [Item(listings[n // 2] if n % 2 else others[n // 2], minutes=n) for n in range(start, start + count)]


def _is_listing(n: int) -> str:
    return "listing" if n % 2 else "not_listing"


def _label(engine, message_id: int, user: str, role: str, decision: str, minutes: int) -> None:
    with session_scope(engine) as s:
        uid = s.scalar(select(User.id).where(User.name == user))
        s.add(Label(message_id=message_id, user_id=uid, role=role, decision=decision,
                    created_at=T0 + timedelta(minutes=minutes)))


@pytest.fixture
def people(engine):
    make_users(engine, ("ann", "analyst"), ("bob", "analyst"), ("rev", "reviewer"))
    return engine


# --------------------------------------------------------------------------- labels -> training data


def test_labels_become_training_data_with_the_right_mapping(people) -> None:
    engine = people
    ids = store_items(engine, [Item(f"message number {n} with some words") for n in range(7)])
    _label(engine, ids[0], "ann", "analyst", "listing", 1)
    _label(engine, ids[1], "ann", "analyst", "not_listing", 1)
    _label(engine, ids[2], "ann", "analyst", "unsure", 1)                # ignored
    _label(engine, ids[3], "ann", "analyst", "skip", 1)                  # ignored
    _label(engine, ids[4], "ann", "analyst", "listing", 1)               # the reviewer wins,
    _label(engine, ids[4], "rev", "reviewer", "not_listing", 2)
    _label(engine, ids[4], "bob", "analyst", "listing", 3)               # even over a later analyst
    _label(engine, ids[5], "ann", "analyst", "listing", 1)               # latest analyst wins
    _label(engine, ids[5], "bob", "analyst", "not_listing", 2)
    _label(engine, ids[6], "ann", "analyst", "not_listing", 1)           # a later "unsure" is ignored
    _label(engine, ids[6], "bob", "analyst", "unsure", 2)
    found = {m.message_id: (m.label, m.decided_by) for m in labelled_messages(engine)}
    assert found == {ids[0]: (1, "analyst"), ids[1]: (0, "analyst"), ids[4]: (0, "reviewer"),
                     ids[5]: (0, "analyst"), ids[6]: (0, "analyst")}
    kinds = {e.text: e.kind for e in split_labelled(engine, labelled_messages(engine))}
    assert kinds["message number 4 with some words"] == "reviewed_label"  # weighted as reviewed in training
    assert kinds["message number 0 with some words"] == "analyst_label"


def test_weights_replicate_examples() -> None:
    examples = list(range(10))
    assert weighted(examples, 3, seed=1) == [e for e in examples for _ in range(3)]
    half = weighted(examples, 0.5, seed=1)
    assert len(half) == 5 and set(half) <= set(examples)
    assert weighted(examples, 0, seed=1) == []
    with pytest.raises(DetectorError):
        weighted(examples, -1, seed=1)


# --------------------------------------------------------------------------- splits


def test_cluster_aware_split_keeps_every_cluster_on_one_side(people) -> None:
    engine = people
    items = _texts(120)
    # reposts: near-duplicates of listings 1..39 (an emoji and a changed price), unknown to the linker
    items += [Item(items[n].text.replace("dollars", "dollars 🔥🔥"), minutes=200 + n) for n in range(1, 40, 2)]
    ids = store_items(engine, items)
    with session_scope(engine) as s:  # stored clusters: every group of 6 consecutive messages
        for start in range(0, 60, 6):
            cluster = Cluster(size=6)
            s.add(cluster)
            s.flush()
            s.add_all(ClusterMember(message_id=m, cluster_id=cluster.id) for m in ids[start:start + 6])
    for n, message_id in enumerate(ids):
        _label(engine, message_id, "ann", "analyst", _is_listing(n), n)
    examples = split_labelled(engine, labelled_messages(engine))
    side = {e.text: e.split for e in examples}
    assert {"train", "test"} == set(side.values())
    for start in range(0, 60, 6):  # stored clusters
        assert len({side[items[n].text] for n in range(start, start + 6)}) == 1
    for n in range(1, 40, 2):  # on-the-fly MinHash groups
        assert side[items[n].text] == side[items[120 + n // 2].text]
    by_family: dict[str, set[str]] = {}
    for e in examples:
        by_family.setdefault(e.family, set()).add(e.split)
    assert all(len(sides) == 1 for sides in by_family.values())


def test_groups_join_stored_clusters_and_minhash_pairs() -> None:
    texts = ["a first long message about selling a kitten in Erbil today",
             "a first long message about selling a kitten in Erbil today!!",
             "something entirely different with other words and numbers 123",
             "short"]
    groups = group_ids([10, 11, 12, 13], texts, {12: 5, 13: 5})
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[0] != groups[2]


def test_time_split_holds_out_the_newest_messages() -> None:
    n = 50
    sent = [T0 + timedelta(days=d) for d in range(n)]
    sides = assign_splits(list(range(n)), list(range(n)), sent, by_time=True, test_fraction=0.2)
    test_days = [d for d, s in enumerate(sides) if s == "test"]
    assert test_days == list(range(40, 50))
    groups = [d // 5 for d in range(n)]  # a group that started before the cut stays together
    sides = assign_splits(list(range(n)), groups, sent[::-1], by_time=True, test_fraction=0.3)
    assert sides[:15] == ["test"] * 15 and set(sides[15:]) == {"train"}


# --------------------------------------------------------------------------- candidates, promotion, rollback


@pytest.fixture
def models_dir(tmp_path, tiny_model_dir, monkeypatch) -> Path:
    """A models folder with the tiny model as the shipped `default`."""
    folder = tmp_path / "models"
    shutil.copytree(tiny_model_dir, folder / "default")
    monkeypatch.setenv("DETECTOR_MODELS_DIR", str(folder))
    monkeypatch.setenv("DETECTOR_ACTOR", "researcher")
    return folder


def _worse_copy(source: Path, target: Path) -> Path:
    """The same weights with a threshold no message reaches: F1 0 in every language."""
    folder = open_folder(source)
    files = {n: (source / n).read_bytes() for n in folder.card["files"] if n != "MODEL_CARD.md"}
    card = {k: v for k, v in folder.card.items() if k not in ("files", "format")}
    card |= {"threshold": 1.01, "version": "worse-1"}
    return write_folder(target, files, card, "# worse\n")


@pytest.fixture
def candidate(people, models_dir) -> Path:
    """A candidate trained on 60 labels plus a small synthetic corpus (fast tier)."""
    engine = people
    items = _texts(60)
    ids = store_items(engine, items)
    for n, message_id in enumerate(ids):
        _label(engine, message_id, "ann", "analyst", _is_listing(n), n)
    card = train_candidate(engine, RetrainConfig(out=models_dir / "cand", n=1500, seed=3, transformer=False,
                                                 n_features=2**16, parent="default"))
    assert card["training_data"]["labels"]["count"] == 60
    return models_dir / "cand"


def test_candidate_card_records_labels_data_hash_and_parent(candidate) -> None:
    card = open_folder(candidate).card
    data = card["training_data"]
    parent_version = open_folder(candidate.parent / "default").card["version"]
    assert card["parent"] == parent_version and card["parent_name"] == "default" and len(data["sha256"]) == 64
    labels = data["labels"]
    assert labels["count"] == 60 and labels["listings"] == 30 and labels["reviewed"] == 0
    synthetic_train = sum(e.split == "train" for e in _corpus_of(1500, 3))
    unreviewed_train = labels["train"]  # every label is an analyst's: each counts 1.5 times
    assert data["splits"]["train"] == synthetic_train + unreviewed_train + round(0.5 * unreviewed_train)
    card_md = (candidate / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "from scratch" not in card_md and "from **60 analyst labels**" in card_md
    assert "0 decided by a reviewer, 60 by analysts only" in card_md and "each unreviewed label 1.5" in card_md
    assert f"Parent: {parent_version} (folder default)." in card_md and "## Against the parent" in card_md
    against = card["against_parent"]
    assert against["records"] > labels["test"] and against["by_language"]
    for language, row in against["by_language"].items():
        assert f"| {language} | {row['n']} | {row['listings']} |" in card_md and row["tolerance"] >= 0.01
    assert "Worse beyond the tolerance in:" in card_md
    assert labels["train"] + labels["val"] + labels["test"] == 60 and labels["test"] > 0
    assert "labels_test" in card["metrics"] and card["metrics"]["labels_test"]["overall"]["model"]["n"] == labels["test"]
    assert load_model(candidate).predict(["Girl for sale, age 15, price 900 dollars. Contact @x"])[0].probability > 0.5


def test_promote_refuses_a_worse_candidate_unless_forced(people, models_dir) -> None:
    engine = people
    _worse_copy(models_dir / "default", models_dir / "worse")
    records, _ = read_labelled(HANDWRITTEN_EVAL)
    settings = Settings.from_env()
    with pytest.raises(DetectorError, match=r"refused: worse is worse than default in .*F1 0\.000"):
        promote(settings, "worse", records, engine=engine, actor="researcher")
    assert read_pointer(models_dir) is None
    result = promote(settings, "worse", records, engine=engine, actor="researcher", force=True)
    assert result["comparison"]["worse"] and read_pointer(models_dir).model == "worse"
    assert resolve_model_path("default") == models_dir / "worse"
    assert load_model("current").version == "worse-1"
    with session_scope(engine) as s:
        refused, event = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "model").order_by(AuditEvent.id))
        assert (refused.action, refused.actor, refused.after["model"]) == ("model_promote_refused", "researcher", "worse")
        assert refused.after["worse"] and refused.after["worse"][0]["tolerance"] >= 0.01
        assert (event.action, event.actor, event.before, event.after["model"]) == (
            "model_promote_forced", "researcher", {"model": "default"}, "worse")


def test_rollback_restores_the_previous_pointer(people, models_dir, candidate) -> None:
    engine = people
    shutil.copytree(candidate, models_dir / "cand2")
    settings = Settings.from_env()
    records, _ = read_labelled(HANDWRITTEN_EVAL)
    promote(settings, "cand", records, engine=engine, actor="r", force=True)
    promote(settings, "cand2", records, engine=engine, actor="r", force=True)
    assert read_pointer(models_dir).previous == ["default", "cand"]
    back = rollback(settings, engine=engine, actor="r")
    assert (back["previous"], back["current"], back["version"]) == ("cand2", "cand", load_model(candidate).version)
    assert read_pointer(models_dir).model == "cand"
    rollback(settings, engine=engine, actor="r")
    assert resolve_model_path("default") == models_dir / "default"
    with pytest.raises(DetectorError, match="nothing to roll back"):
        rollback(settings, engine=engine, actor="r")
    with session_scope(engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "model").order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["model_rollback", "model_rollback"] and len(actions) == 4


def test_tolerance_is_one_message_and_at_least_a_point() -> None:
    assert tolerance(10) == pytest.approx(0.05)
    assert tolerance(1000) == 0.01


def test_rescoring_in_the_background_keeps_old_scores(people, db_url, models_dir, candidate, tmp_path) -> None:
    engine = people
    with session_scope(engine) as s:
        before = {(m, v, p) for m, v, p in s.execute(select(Score.message_id, Score.model_version, Score.probability))}
    process = rescore_in_background(db_url, models_dir, "cand", tmp_path / "rescore.log")
    assert process.wait(timeout=120) == 0, (tmp_path / "rescore.log").read_text()
    version = load_model(candidate).version
    with session_scope(engine) as s:
        after = {(m, v, p) for m, v, p in s.execute(select(Score.message_id, Score.model_version, Score.probability))}
    assert before < after  # every old score is still there
    assert {m for m, v, _ in after if v == version} == {m for m, _, _ in before}


def test_cli_train_compare_promote_list_rollback(people, db_url, models_dir, candidate) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", "--compare", "current", "cand", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "Language: current" in result.output and "cand F1" in result.output and "held-out messages" in result.output
    _worse_copy(models_dir / "default", models_dir / "worse")
    refused = runner.invoke(main, ["models", "promote", "worse", "--db", db_url, "--no-rescore"])
    assert refused.exit_code == 1 and "refused: worse is worse than default" in refused.output
    assert "Traceback" not in refused.output
    promoted = runner.invoke(main, ["models", "promote", "worse", "--db", db_url, "--no-rescore", "--force"])
    assert promoted.exit_code == 0 and "Promoted worse" in promoted.output
    listing = runner.invoke(main, ["models", "list"])
    assert "* worse" in listing.output and "  cand" in listing.output
    back = runner.invoke(main, ["models", "rollback", "--db", db_url])
    assert back.exit_code == 0 and "Rolled back from worse to default" in back.output


def test_cli_train_from_labels_writes_a_candidate(people, db_url, models_dir) -> None:
    items = _texts(40)
    ids = store_items(people, items)
    for n, message_id in enumerate(ids):
        _label(people, message_id, "ann", "analyst", _is_listing(n), n)
    result = CliRunner().invoke(main, ["train", "--db", db_url, "--n", "1200", "--seed", "3", "--no-transformer",
                                       "--labels-weight", "2", "--split-by-time", "--out", str(models_dir / "c1")])
    assert result.exit_code == 0, result.output
    card = open_folder(models_dir / "c1").card
    assert card["training_data"]["labels"]["weight"] == 2 and card["training_data"]["labels"]["split"] == "time"
    assert card["parent_name"] == "default" and card["training_data"]["labels"]["count"] == 40
    assert card["parent"] == open_folder(models_dir / "default").card["version"]


def test_cli_train_without_labels_is_one_clear_error(engine, db_url, models_dir) -> None:
    result = CliRunner().invoke(main, ["train", "--db", db_url, "--n", "600", "--no-transformer",
                                       "--synthetic-weight", "0", "--out", str(models_dir / "none")])
    assert result.exit_code == 1 and "not enough data to train" in result.output
    assert not (models_dir / "none").exists()


# --------------------------------------------------------------------------- active learning


def test_active_learning_prefers_uncertain_and_diverse_items() -> None:
    repost = "Young woman available for transfer, 3000 dollars, contact 0770 123 4567"
    texts = [repost, repost + " !", repost + " !!", "Baby goats for sale, 50 dollars each, Duhok market",
             "Servant girl 14 years, 2500 dollars, Raqqa", "Selling Kalashnikov rifle, good state"]
    p = [0.5, 0.52, 0.48, 0.55, 0.99, 0.02]
    order = select_batch(p, texts, 6, threshold=0.5)
    assert order[0] in (0, 1, 2) and order[1] == 3  # the distinct doubtful one before the reposts
    assert sorted(order) == list(range(6)) and len({0, 1, 2} & set(order[:4])) == 1  # one repost, not three
    distinct = [texts[3], texts[4], texts[5], "Honda motorbike 2019, 1800 dollars, Kirkuk"]
    assert select_batch([0.8, 0.5, 0.05, 0.6], distinct, 4, threshold=0.5) == [1, 3, 0, 2]  # by uncertainty
    assert select_batch(p, texts, 2, threshold=0.5, labelled_texts=[repost])[0] == 3  # unlike what is labelled
    assert uncertainty([0.5, 1.0, 0.0], 0.5).tolist() == [1.0, 0.0, 0.0]


def test_active_learning_ranks_around_the_models_threshold_not_one_half() -> None:
    texts = ["Honda motorbike 2019, 1800 dollars, Kirkuk", "Baby goats for sale, 50 dollars each, Duhok",
             "Servant girl 14 years, 2500 dollars, Raqqa", "Selling Kalashnikov rifle, good state"]
    p = [0.5, 0.15, 0.9, 0.02]
    assert uncertainty(p, 0.15).tolist()[1] == 1.0 and uncertainty([0.15], 0.15)[0] > uncertainty([0.5], 0.15)[0]
    assert select_batch(p, texts, 4, threshold=0.15) == [1, 0, 3, 2]  # 0.15 is the decision point
    assert select_batch(p, texts, 4, threshold=0.5) == [0, 1, 2, 3]
    assert select_batch(p, texts, 1, threshold=[0.9, 0.15, 0.5, 0.5]) == [1]  # a threshold per item


def test_queue_active_order_uses_the_threshold_of_the_model_that_scored_each_item(people, models_dir) -> None:
    version = open_folder(models_dir / "default").card["version"]
    threshold = open_folder(models_dir / "default").card["threshold"]
    items = [Item("Honda motorbike 2019, 1800 dollars, Kirkuk", probability=0.5),
             Item("Baby goats for sale, 50 dollars each, Duhok", probability=threshold + 0.001),
             Item("Servant girl 14 years, 2500 dollars, Raqqa", probability=0.95)]
    ids = store_items(people, items, model_version=version)
    with session_scope(people) as s:
        refresh_queue(s)
        flt = QueueFilter.from_params({"order": "active", "state": "any"})
        rows = [r.item.message_id for r in list_items(s, flt, user_id=1)]
    assert rows[0] == ids[1] and sorted(rows) == sorted(ids)


def test_queue_active_order(people) -> None:
    engine = people
    repost = "Young woman available for transfer, 3000 dollars, contact 0770 123 4567 in Mosul"
    items = [Item(repost + "!" * n, probability=0.5 + 0.01 * n) for n in range(4)]
    items += [Item("Baby goats for sale, 50 dollars each, Duhok market, call now", probability=0.56),
              Item("Certain listing of a girl aged 13 for 900 dollars", probability=0.99)]
    ids = store_items(engine, items)
    with session_scope(engine) as s:
        refresh_queue(s)
        flt = QueueFilter.from_params({"order": "active", "state": "any"})
        rows = [r.item.message_id for r in list_items(s, flt, user_id=1)]
    assert rows[0] == ids[0] and rows[1] == ids[4] and rows[-1] == ids[5] and sorted(rows) == sorted(ids)


# --------------------------------------------------------------------------- simulation


@pytest.mark.slow
def test_simulation_gives_curves_for_both_strategies_and_a_plot(tmp_path) -> None:
    from detector.classify.simulation import STRATEGIES, SimulationConfig, plot_curves, run_simulation

    config = SimulationConfig(n_corpus=1500, base_train=300, calibration=200, checkpoints=(0, 20, 40), batch=20,
                              repeats=2, n_features=2**14, error_rate=0.1)
    result = run_simulation(config)
    assert set(result.curves) == set(STRATEGIES) and result.pool_size > 40 and result.eval_size > 0
    for curve in result.curves.values():
        assert sorted(curve) == [0, 20, 40] and all(len(v) == 2 and all(0 < f <= 1 for f in v) for v in curve.values())
    assert result.curves["active"][0] == result.curves["random"][0] == result.curves["active_half"][0]  # same start
    png = plot_curves(result, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
