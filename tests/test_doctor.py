"""Crash leftovers and `detector doctor`: a real `kill -9` during the evidence copy, a live writer's
temporary file left alone, orphaned and corrupted blobs, audit of `--fix`, a healthy database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from detector.db import open_database
from detector.ingest.evidence import EvidenceStore
from detector.schema import AuditEvent, ExportFile, Media, Message
from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import write_telegram_json
from ingest_fixtures import counts, ingest_json, messages, run_cli, telegram_json

DETECTOR = str(Path(sys.executable).parent / "detector")


def _env(evidence: Path) -> dict[str, str]:
    return {**os.environ, "DETECTOR_EVIDENCE_DIR": str(evidence)}


def _wait_for_temp(evidence: Path, process: subprocess.Popen, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(evidence.glob(".incoming-*")) if evidence.is_dir() else []
        if found:
            return found[0]
        assert process.poll() is None, "the process ended before writing a temporary file"
        time.sleep(0.001)
    raise AssertionError("no .incoming-* file appeared")


def _blobs(evidence: Path) -> list[str]:
    return sorted(p.relative_to(evidence).as_posix() for p in evidence.glob("??/*"))


def _doctor(db_url: str, evidence: Path, *args: str):
    return run_cli(["doctor", "--db", db_url, *args], evidence)


def test_kill_9_during_the_evidence_copy_is_cleaned_by_the_next_ingest(sqlite_url, tmp_path):
    export = tmp_path / "big" / "result.json"
    export.parent.mkdir()
    t0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
    big = [SynthMessage(f"Goat for sale #{i} " + "x" * 400_000, "Seller", "user1", t0 + timedelta(minutes=i))
           for i in range(100)]
    with open(export, "wb") as out:  # ~80 MB: the copy takes long enough to be caught
        write_telegram_json(out, "Market", 42, big)
    evidence = tmp_path / "evidence"
    open_database(sqlite_url).dispose()

    process = subprocess.Popen([DETECTOR, "ingest", "--db", sqlite_url, "--no-analyse", str(export)],
                               env=_env(evidence), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        temp = _wait_for_temp(evidence, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert temp.exists(), "the kill came after the copy had finished"
    assert _blobs(evidence) == []

    result, summary = ingest_json(sqlite_url, evidence, export)

    assert result.exit_code == 0, result.stderr
    assert summary["temp_files_removed"] == 1 and summary["messages_new"] == 100
    assert "removed 1 temporary file(s)" in result.stderr
    assert list(evidence.glob(".incoming-*")) == []
    engine = open_database(sqlite_url)
    try:
        assert counts(engine, ExportFile, Message) == (1, 100)
        with Session(engine) as session:
            stored = session.scalars(select(ExportFile.stored_path)).one()
    finally:
        engine.dispose()
    assert _blobs(evidence) == [stored]  # stored exactly once, nothing else in the store
    assert (evidence / stored).read_bytes() == export.read_bytes()
    assert _doctor(sqlite_url, evidence).exit_code == 0


WRITER = """
import sys
from detector.ingest.evidence import EvidenceStore
print(EvidenceStore(sys.argv[1]).put_stream(sys.stdin.buffer).rel_path, flush=True)
"""


def test_a_live_writers_temporary_file_is_left_alone(sqlite_url, tmp_path):
    """The writer holds its temporary file's lock: it is older than the next run, yet not stale."""
    evidence = tmp_path / "evidence"
    export = telegram_json(tmp_path / "tg", messages(3))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(evidence)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        writer.stdin.write(b"half of a photo")
        writer.stdin.flush()
        temp = _wait_for_temp(evidence, writer)
        time.sleep(0.05)

        result, summary = ingest_json(sqlite_url, evidence, export)
        assert result.exit_code == 0 and "temp_files_removed" not in summary
        fixed = _doctor(sqlite_url, evidence, "--fix", "--json")
        assert temp.exists()
        assert json.loads(fixed.stdout)["removed"] == []
        assert fixed.exit_code == 0  # an ingest in progress is not a problem

        writer.stdin.write(b" and the rest")
        writer.stdin.close()
        rel = writer.stdout.read().decode().strip()
    finally:
        writer.kill() if writer.poll() is None else None
        writer.wait()
    assert writer.returncode == 0 and not temp.exists()
    assert (evidence / rel).read_bytes() == b"half of a photo and the rest"


def test_doctor_finds_orphan_and_corrupt_blobs_and_fix_removes_only_the_orphan(db_url, tmp_path):
    evidence = tmp_path / "evidence"
    export = telegram_json(tmp_path / "tg", messages(4, photo_at=1))
    assert ingest_json(db_url, evidence, export)[0].exit_code == 0
    engine = open_database(db_url)
    with Session(engine) as session:
        photo = session.scalars(select(Media.stored_path).where(Media.status == "stored")).one()
    store = EvidenceStore(evidence)
    orphan = store.put_bytes(b"bytes a killed load left behind", ".jpg").rel_path
    corrupt = store.path_of(photo)
    corrupt.chmod(0o644)
    corrupt.write_bytes(corrupt.read_bytes()[:-1] + b"\x00")
    stale = evidence / ".incoming-dead"
    stale.write_bytes(b"x" * 1000)
    os.utime(stale, (time.time() - 60, time.time() - 60))

    found = _doctor(db_url, evidence)
    assert found.exit_code == 1
    lines = found.stdout.splitlines()
    assert f"orphan blob: {orphan}: no row refers to it" in lines
    assert any(line.startswith(f"corrupt blob: {photo}: SHA-256 is ") for line in lines)
    assert "temp file: .incoming-dead: left by an interrupted ingest" in lines
    assert lines[-1].startswith("3 problem(s)")
    assert store.path_of(orphan).exists() and stale.exists()  # without --fix nothing changes

    fixed = _doctor(db_url, evidence, "--fix", "--actor", "alice", "--json")
    assert fixed.exit_code == 1  # the corrupt blob is still wrong: evidence is never deleted
    report = json.loads(fixed.stdout)
    assert {(f["check"], f["subject"]) for f in report["removed"]} == {("orphan_blob", orphan),
                                                                       ("temp_file", ".incoming-dead")}
    assert not store.path_of(orphan).exists() and not stale.exists() and corrupt.exists()
    with Session(engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_cleanup")).all()
    engine.dispose()
    assert len(events) == 1 and events[0].actor == "alice"
    assert events[0].before == {"orphan_blob": [{"path": orphan, "size": 31}],
                                "temp_file": [{"path": ".incoming-dead", "size": 1000}]}
    again = _doctor(db_url, evidence)
    assert again.exit_code == 1 and "orphan" not in again.stdout and "corrupt blob" in again.stdout


def test_a_healthy_database_passes_and_a_missing_blob_does_not(db_url, tmp_path):
    evidence = tmp_path / "evidence"
    assert ingest_json(db_url, evidence, telegram_json(tmp_path / "tg", messages(4, photo_at=2)))[0].exit_code == 0

    healthy = _doctor(db_url, evidence, "--json")
    assert healthy.exit_code == 0, healthy.stdout
    report = json.loads(healthy.stdout)
    assert report["ok"] and report["blobs_verified"] == 2
    assert not [f for f in report["findings"] if f["problem"]]

    blob = next(evidence.glob("??/*.json"))
    blob.unlink()
    missing = _doctor(db_url, evidence)
    assert missing.exit_code == 1 and f"missing blob: {blob.parent.name}/{blob.name}: is missing" in missing.stdout


def test_doctor_checks_foreign_keys_and_migrations_on_sqlite(sqlite_url, tmp_path):
    evidence = tmp_path / "evidence"
    assert ingest_json(sqlite_url, evidence, telegram_json(tmp_path / "tg", messages(2)))[0].exit_code == 0
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.execute(text("UPDATE message SET source_id = 999 WHERE external_id = '1'"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        conn.commit()
    engine.dispose()
    orphan = EvidenceStore(evidence).put_bytes(b"maybe referenced by a row the database lost")

    result = _doctor(sqlite_url, evidence, "--fix")
    assert result.exit_code == 1
    assert "refers to a missing source row" in result.stdout
    assert "migrations: database: at 0001, newest is" in result.stdout
    assert "removed" not in result.stdout and EvidenceStore(evidence).path_of(orphan.rel_path).exists()
    # --fix removes no orphan while the database is not sound: its references cannot be trusted


def test_doctor_never_creates_a_database(tmp_path):
    result = run_cli(["doctor", "--db", f"sqlite:///{tmp_path}/none.db"], tmp_path / "evidence")
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not (tmp_path / "none.db").exists()
