"""Fault injection (issue 15): real `detector` processes killed with SIGKILL part way (after some of their
transactions have committed, so the kill lands in a later one), then the database is checked (`doctor`:
integrity, foreign keys, every blob hashing right), a rerun finishes the job with exactly the expected rows,
nothing twice; and an evidence folder that cannot be written gives one line per file and stores nothing.
The kill during the evidence copy and watch's clean stop are in test_doctor.py and test_watch.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from detector.classify.scoring import score_unscored
from detector.config import Settings
from detector.db import open_database
from detector.hashing import sha256_bytes
from detector.ingest.run import ingest_paths
from detector.link.run import link_pending
from detector.schedule import InboxState, watch_pass
from detector.schema import Cluster, ExportFile, InboxFile, LinkSketch, Media, Message, Score
from detector.synthetic.messages import SynthMessage
from ingest_fixtures import T0, counts, run_cli, telegram_json
from telegram_support import jpeg

DETECTOR = str(Path(sys.executable).parent / "detector")
EXPORTS, PER_EXPORT = 6, 150
TIMEOUT = 60  # seconds for a process to reach its kill point (its start-up is most of it on a busy machine)


def _exports(folder: Path, count: int = EXPORTS, per_export: int = PER_EXPORT, photos: int = 0) -> list[Path]:
    """`count` Telegram exports of `per_export` messages (reposts across chats, so linking finds clusters)."""
    paths = []
    for chat in range(count):
        items = [SynthMessage(f"Goat for sale, {i % 40} months, call +9647501234{i % 90:03d} #{chat}",
                              f"Seller {i % 7}", f"user{i % 7}", T0 + timedelta(minutes=i),
                              photo=jpeg(16 + i % 9, 12, (chat * 37 + i) % 256) if i < photos else None)
                 for i in range(per_export)]
        paths.append(telegram_json(folder / f"chat{chat}", items, chat_id=100 + chat).parent)
    return paths


def _settings(db_url: str, evidence: Path) -> Settings:
    return Settings(database_url=db_url, evidence_dir=evidence)


@contextmanager
def _engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _kill_when(args: list[str], evidence: Path, ready: Callable[[], bool]) -> None:
    """Start `detector ARGS`, SIGKILL it as soon as `ready()` (polled), and check it was still running then."""
    process = subprocess.Popen([DETECTOR, *args], env={**os.environ, "DETECTOR_EVIDENCE_DIR": str(evidence)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not ready():
            assert process.poll() is None, f"ended before its kill point: {process.stderr.read().decode()[-400:]}"
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the process had finished before the kill"


def _count(engine: Engine, model: type) -> int:
    return counts(engine, model)[0]


def _doctor(db_url: str, evidence: Path) -> tuple[int, list[dict]]:
    result = run_cli(["doctor", "--db", db_url, "--json"], evidence)
    return result.exit_code, [f for f in json.loads(result.stdout)["findings"] if f["problem"]]


def _assert_consistent_after_kill(db_url: str, evidence: Path) -> None:
    """Right after a kill: the database is whole; the store holds at most what a killed load leaves behind
    (a blob nothing refers to yet, a temporary file), each of which doctor names as fixable."""
    _, problems = _doctor(db_url, evidence)
    assert all(f["check"] in ("orphan_blob", "temp_file") for f in problems), problems


def _assert_clean(db_url: str, evidence: Path, engine: Engine, sources: list[Path]) -> None:
    """Doctor finds nothing, and every export is stored once, byte for byte."""
    code, problems = _doctor(db_url, evidence)
    assert (code, problems) == (0, [])
    with engine.connect() as conn:
        stored = conn.execute(select(ExportFile.sha256, ExportFile.stored_path)).all()
    originals = sorted(sha256_bytes((folder / "result.json").read_bytes()) for folder in sources)
    assert sorted(sha for sha, _ in stored) == originals
    assert all(sha256_bytes((evidence / rel).read_bytes()) == sha for sha, rel in stored)


def test_ingest_killed_between_and_inside_file_transactions_then_rerun(db_url, tmp_path):
    sources, evidence = _exports(tmp_path / "in", photos=20), tmp_path / "evidence"
    with _engine(db_url) as engine:
        _kill_when(["ingest", "--db", db_url, "--no-analyse", str(tmp_path / "in")], evidence,
                   lambda: _count(engine, ExportFile) >= 2)
        files, stored = _count(engine, ExportFile), _count(engine, Message)
        assert 2 <= files < EXPORTS and stored == files * PER_EXPORT  # whole files only
        _assert_consistent_after_kill(db_url, evidence)

        again = ingest_paths(engine, _settings(db_url, evidence), [tmp_path / "in"], analyse=False)

        assert again.errors == [] and again.messages_new == (EXPORTS - files) * PER_EXPORT
        assert counts(engine, ExportFile, Message, Media) == (EXPORTS, EXPORTS * PER_EXPORT, EXPORTS * 20)
        _assert_clean(db_url, evidence, engine, sources)


def test_watch_killed_mid_pass_before_its_ledger_then_a_pass_finishes_the_inbox(db_url, tmp_path):
    inbox, evidence = tmp_path / "inbox", tmp_path / "evidence"
    sources = _exports(inbox)
    old = time.time() - 3600  # settled files: the pass takes them at once
    for path in inbox.rglob("*"):
        os.utime(path, (old, old))
    with _engine(db_url) as engine:
        _kill_when(["watch", "--db", db_url, "--every", "1h", "--settle", "0", "--no-analyse", str(inbox)], evidence,
                   lambda: _count(engine, ExportFile) >= 2)
        _assert_consistent_after_kill(db_url, evidence)
        files = _count(engine, ExportFile)  # stored, while the pass's ledger (written at its end) is not
        assert files < EXPORTS and counts(engine, Message, InboxFile) == (files * PER_EXPORT, 0)

        result = watch_pass(engine, _settings(db_url, evidence), inbox, InboxState(), settle_seconds=0, analyse=False)

        assert result.errors == [] and result.messages_new == (EXPORTS - files) * PER_EXPORT
        assert result.messages_seen == files * PER_EXPORT  # read again, stored once
        with engine.connect() as conn:
            ledger = conn.execute(select(InboxFile.path, InboxFile.status)).all()
        assert sorted(ledger) == sorted((f"chat{i}/result.json", "ingested") for i in range(EXPORTS))
        assert _count(engine, Message) == EXPORTS * PER_EXPORT
        _assert_clean(db_url, evidence, engine, sources)


def test_score_killed_mid_run_then_rerun_scores_each_message_once(db_url, tmp_path, tiny_model_dir):
    evidence = tmp_path / "evidence"
    _exports(tmp_path / "in")
    settings = _settings(db_url, evidence).with_(models_dir=tiny_model_dir.parent, model_name=tiny_model_dir.name)
    with _engine(db_url) as engine:
        assert ingest_paths(engine, settings, [tmp_path / "in"], analyse=False).errors == []
        _kill_when(["score", "--db", db_url, "--model", str(tiny_model_dir), "--batch-size", "25"], evidence,
                   lambda: _count(engine, Score) >= 50)
        scored = _count(engine, Score)
        assert scored % 25 == 0 and scored < EXPORTS * PER_EXPORT  # whole batches only
        _assert_consistent_after_kill(db_url, evidence)

        again = score_unscored(engine, settings, batch_size=25)

        assert again.scored == EXPORTS * PER_EXPORT - scored
        with engine.connect() as conn:
            per_message = conn.execute(select(Score.message_id, func.count()).group_by(Score.message_id)).all()
        assert len(per_message) == EXPORTS * PER_EXPORT and {n for _, n in per_message} == {1}
        assert _doctor(db_url, evidence)[0] == 0


def test_link_killed_while_hashing_photos_then_rerun_gives_the_uninterrupted_result(tmp_path, sqlite_url):
    evidence = tmp_path / "evidence"
    _exports(tmp_path / "in", count=2, per_export=300, photos=300)
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    with _engine(sqlite_url) as engine, _engine(reference_url) as reference:
        for target, url in ((engine, sqlite_url), (reference, reference_url)):
            assert ingest_paths(target, _settings(url, evidence), [tmp_path / "in"], analyse=False).errors == []
        expected = link_pending(reference, _settings(reference_url, evidence))
        assert expected.clusters > 0 and expected.photos_hashed > 200  # more than one photo transaction
        _kill_when(["link", "--db", sqlite_url], evidence, lambda: _count(engine, LinkSketch) > 0)
        _assert_consistent_after_kill(sqlite_url, evidence)

        rerun = link_pending(engine, _settings(sqlite_url, evidence))

        assert rerun.messages_linked == 0  # the message transaction had committed before the kill
        assert (rerun.clusters, rerun.entities) == (expected.clusters, expected.entities)
        assert counts(engine, Cluster, LinkSketch) == counts(reference, Cluster, LinkSketch)
        assert _doctor(sqlite_url, evidence)[0] == 0


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """`folder` cannot be written: a read-only bind mount for root (whom permissions do not stop), else mode 555."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_evidence_folder_gives_one_line_per_file_and_stores_nothing(db_url, tmp_path):
    evidence = tmp_path / "evidence"
    first = _exports(tmp_path / "first", count=1, per_export=5)
    _exports(tmp_path / "in", count=2, per_export=5, photos=1)
    with _engine(db_url) as engine:
        assert ingest_paths(engine, _settings(db_url, evidence), first, analyse=False).errors == []
        before = sorted((p.relative_to(evidence), p.read_bytes()) for p in evidence.rglob("*") if p.is_file())
        with _read_only(evidence):
            result = run_cli(["ingest", "--db", db_url, "--no-analyse", str(tmp_path / "in")], evidence)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert result.exit_code == 1 and "Traceback" not in result.stderr
        assert len(lines) == 2 and all("Read-only file system" in line or "Permission denied" in line for line in lines)
        assert [line.split(": ")[1] for line in lines] == [str(tmp_path / f"in/chat{i}/result.json") for i in (0, 1)]
        assert counts(engine, ExportFile, Message) == (1, 5)  # the earlier export only
        after = sorted((p.relative_to(evidence), p.read_bytes()) for p in evidence.rglob("*") if p.is_file())
        assert after == before  # nothing half-written, nothing stored harmed
        _assert_clean(db_url, evidence, engine, first)


@pytest.mark.skipif(os.geteuid() != 0, reason="a size-limited file system needs mount (root)")
def test_a_full_disk_under_the_evidence_folder_gives_one_line_and_stores_nothing(sqlite_url, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    big = _exports(tmp_path / "in", count=1, per_export=3000)  # about 500 kB of JSON
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(evidence)], check=True)
    try:
        result = run_cli(["ingest", "--db", sqlite_url, "--no-analyse", str(tmp_path / "in")], evidence)
        left = sorted(p.name for p in evidence.rglob("*") if p.is_file() and p.name != ".evidence.lock")
    finally:
        subprocess.run(["umount", str(evidence)], check=True)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"error: {big[0] / 'result.json'}: ") and "No space left" in lines[0]
    assert left == []  # no temporary file, no partial blob
    with _engine(sqlite_url) as engine:
        assert counts(engine, ExportFile, Message) == (0, 0)
