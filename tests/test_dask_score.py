"""Scoring on a real Dask LocalCluster (2 worker processes) against SQLite and PostgreSQL: the same
scores as the single-process scorer, a rerun adds nothing, a worker killed with kill -9 mid-partition
loses nothing and scores nothing twice, and an unreachable scheduler writes nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from detector.classify.registry import load_model
from detector.classify.scoring import score_unscored
from detector.cli import main
from detector.db import open_database, session_scope
from detector.scale.cluster import dask_client, score_on_cluster
from detector.scale.partitions import Partition, plan_partitions, unscored_partitions
from detector.scale import worker
from detector.scale.worker import START_TOPIC
from detector.schema import ExportFile, Message, Score, Source
from detector.synthetic.corpus import generate_corpus

WAIT = 120  # seconds: an upper bound on any wait, so a hung cluster fails the test instead of hanging it


def add_corpus(engine: Engine, n: int) -> None:
    """`n` synthetic messages; every tenth replies to the one before it (so thread contexts are read)."""
    texts = [e.text for e in generate_corpus(n=n, seed=11)][:n]
    with session_scope(engine) as session:
        source = Source(platform="telegram", chat_id="c1", name="market")
        export = ExportFile(sha256="0" * 64, name="result.json", size=1, format="telegram_json", stored_path="x")
        for i, body in enumerate(texts):
            session.add(Message(source=source, export_file=export, external_id=str(i), text=body, raw=body.encode(),
                                raw_sha256=f"{i:064d}", reply_to=str(i - 1) if i % 10 == 9 else None,
                                sent_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))


def scores_by_message(engine: Engine) -> dict[str, tuple]:
    """Per external id: (model version, probability, flagged, tier, reasons); fails on a second Score."""
    with session_scope(engine) as session:
        rows = session.execute(select(Message.external_id, Score.model_version, Score.probability, Score.flagged,
                                      Score.tier, Score.reasons).join(Score, Score.message_id == Message.id)).all()
    found = {row[0]: tuple(row[1:]) for row in rows}
    assert len(found) == len(rows), "a message was scored twice"
    return found


def single_process_scores(tmp_path, n: int, model_dir) -> dict[str, tuple]:
    """The same messages scored by the single-process `score_unscored` in a separate SQLite file."""
    engine = open_database(f"sqlite:///{tmp_path}/reference.db")
    try:
        add_corpus(engine, n)
        score_unscored(engine, model=load_model(model_dir))
        return scores_by_message(engine)
    finally:
        engine.dispose()


def test_partitions_cover_the_unscored_ids_once() -> None:
    parts = plan_partitions([3, 40, 90], last_id=120, total=25, size=10)
    assert parts == [Partition(2, 40, 10), Partition(39, 90, 10), Partition(89, 121, 5)]
    assert all(a.before_id == b.after_id + 1 for a, b in zip(parts, parts[1:]))
    assert plan_partitions([], last_id=0, total=0, size=10) == []


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with dask_client(None, 2) as dask:
        dask.wait_for_workers(2, timeout=WAIT)
        yield dask


def test_cli_local_workers_score_as_the_single_process_scorer(db_url, tiny_model_dir, tmp_path) -> None:
    n = 300
    engine = open_database(db_url)
    add_corpus(engine, n)
    result = CliRunner().invoke(main, ["score", "--db", db_url, "--model", str(tiny_model_dir), "--local-workers", "2",
                                       "--partition-size", "70", "--batch-size", "25", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["workers"] == 2 and summary["partitions"] == 5 and summary["retried"] == 0
    assert summary["scored"] == n
    found = scores_by_message(engine)
    assert summary["flagged"] == sum(row[2] for row in found.values()) > 0
    assert found == single_process_scores(tmp_path, n, tiny_model_dir)
    engine.dispose()


def test_a_rerun_writes_nothing_and_each_worker_loads_the_model_once(client, engine, db_url, tiny_model_dir) -> None:
    add_corpus(engine, 200)
    model = load_model(tiny_model_dir)
    first = score_on_cluster(client, engine, db_url, model, tiny_model_dir,
                             unscored_partitions(engine, model.version, 40), batch_size=15)
    assert (first.scored, first.partitions, first.retried) == (200, 5, 0)
    with session_scope(engine) as session:
        ids = sorted(session.scalars(select(Score.id)))
    again = unscored_partitions(engine, model.version, 40)
    assert again == []
    rerun = score_on_cluster(client, engine, db_url, model, tiny_model_dir, again)
    assert (rerun.scored, rerun.partitions) == (0, 0)
    with session_scope(engine) as session:
        assert sorted(session.scalars(select(Score.id))) == ids
    loads = client.run(lambda: worker._cached_model.cache_info().misses)  # model loads per worker process
    assert sorted(loads.values()) in ([1, 1], [0, 1])


def signal_all(pids: dict[str, int], sig: int) -> None:
    for pid in pids.values():
        os.kill(pid, sig)


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def running_workers(client) -> list[str]:
    """Workers that started a partition (their start event arrived) and have not finished it."""
    started = {(msg["worker"], msg["run"]) for _time, msg in client.get_events(START_TOPIC)}
    return [address for address, keys in client.processing().items()
            if any((address, str(key).split("-")[2]) in started for key in keys)]


def test_a_worker_killed_mid_partition_is_retried_and_nothing_is_scored_twice(client, engine, db_url, tiny_model_dir,
                                                                             tmp_path) -> None:
    n = 400
    add_corpus(engine, n)
    model = load_model(tiny_model_dir)
    partitions = unscored_partitions(engine, model.version, 200)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["summary"] = score_on_cluster(client, engine, db_url, model, tiny_model_dir, partitions, batch_size=5)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    def committed() -> int:
        with session_scope(engine) as session:
            return session.scalar(select(func.count(Score.id)))

    pids = client.run(os.getpid)  # worker address -> process id
    scorer = threading.Thread(target=run)
    scorer.start()
    # Freeze both worker processes (SIGSTOP) and look: once some batches are committed and a worker is
    # known to run a partition, kill that one while everything stands still; otherwise thaw and look again.
    deadline = time.monotonic() + WAIT
    while True:
        signal_all(pids, signal.SIGSTOP)
        done, running = committed(), running_workers(client)
        if done and running:
            break
        signal_all(pids, signal.SIGCONT)
        assert done < n and time.monotonic() < deadline, "the kill must land mid-run"
        time.sleep(0.003)
    assert done < n, "the kill must land mid-run"
    address = running[0]
    os.kill(pids[address], signal.SIGKILL)
    signal_all({a: p for a, p in pids.items() if a != address}, signal.SIGCONT)
    wait_until(lambda: address not in client.scheduler_info()["workers"], "the scheduler to see the death")
    scorer.join(WAIT)
    assert not scorer.is_alive() and "error" not in outcome, outcome
    summary = outcome["summary"]
    assert summary.retried == 1 and summary.scored == n and summary.partitions == 2
    assert scores_by_message(engine) == single_process_scores(tmp_path, n, tiny_model_dir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, tiny_model_dir) -> None:
    import dask

    address = f"tcp://127.0.0.1:{free_port()}"
    db = tmp_path / "untouched.db"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        result = CliRunner().invoke(main, ["score", "--db", f"sqlite:///{db}", "--model", str(tiny_model_dir),
                                           "--scheduler", address])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot reach the Dask scheduler at {address}")
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not db.exists()


def test_scheduler_and_local_workers_together_are_refused(tmp_path, tiny_model_dir) -> None:
    result = CliRunner().invoke(main, ["score", "--db", f"sqlite:///{tmp_path}/x.db", "--model", str(tiny_model_dir),
                                       "--scheduler", "tcp://127.0.0.1:1", "--local-workers", "2"])
    assert result.exit_code == 2 and "not both" in result.output
    assert not (tmp_path / "x.db").exists()
