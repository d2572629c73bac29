"""The scheduled inbox scraper: ledger, files being written, restarts, later exports and edits."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from detector.config import Settings
from detector.db import open_database
from detector.schedule import InboxState, parse_interval, watch_job, watch_pass
from detector.schema import ExportFile, InboxFile, Message, Score
from ingest_fixtures import counts, edited, histories, messages, run_cli, telegram_json, whatsapp_txt

DETECTOR = str(Path(sys.executable).with_name("detector"))


@pytest.fixture
def db(db_url):
    engine = open_database(db_url)
    yield db_url, engine
    engine.dispose()


def settings_for(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", models_dir=tmp_path / "no-models")


def watch(db_url: str, inbox: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DETECTOR_EVIDENCE_DIR": str(tmp_path / "evidence"), "DETECTOR_MODELS_DIR": str(tmp_path)}
    return subprocess.run(
        [DETECTOR, "watch", "--db", db_url, "--settle", "0", "--no-analyse",
         *extra, str(inbox)],
        env=env, capture_output=True, text=True, timeout=120,
    )


def job_rows(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()


def test_watch_once_twice_stores_once_and_survives_restart(db, tmp_path):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    telegram_json(inbox / "market", messages(5, photo_at=1))

    first = watch(db_url, inbox, tmp_path, "--once")

    assert first.returncode == 0, first.stderr
    assert "watch pass: 1 new file(s), 0 already processed, 0 still being written, 0 error(s); 5 new message(s)" \
        in first.stderr
    assert "scoring skipped" in first.stderr and "watch stopped" in first.stderr
    assert job_rows(engine) == ["detector-watch"]  # the job lives in the project database
    assert counts(engine, Message, ExportFile, InboxFile) == (5, 1, 1)

    # a second process picks the same job up: the known file is skipped, a new one is ingested
    whatsapp_txt(inbox / "WhatsApp Chat with Tools.txt", messages(2))
    second = watch(db_url, inbox, tmp_path, "--once")

    assert second.returncode == 0, second.stderr
    assert "watch pass: 1 new file(s), 1 already processed" in second.stderr
    assert job_rows(engine) == ["detector-watch"]
    assert counts(engine, Message, ExportFile, InboxFile) == (5 + 3, 2, 2)


def test_file_being_written_is_waited_for(db, tmp_path):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    whole = telegram_json(tmp_path / "source", messages(6)).read_bytes()
    target = inbox / "result.json"
    inbox.mkdir()
    target.write_bytes(whole[: len(whole) // 2])
    settings, state = settings_for(db_url, tmp_path), InboxState()

    first = watch_pass(engine, settings, inbox, state, settle_seconds=60, analyse=False)
    with open(target, "ab") as out:
        out.write(whole[len(whole) // 2 :])
    second = watch_pass(engine, settings, inbox, state, settle_seconds=60, analyse=False)
    assert (first.waiting, first.ingested, second.waiting, second.ingested) == (1, 0, 1, 0)
    assert counts(engine, Message, InboxFile) == (0, 0)

    third = watch_pass(engine, settings, inbox, state, settle_seconds=60, analyse=False)  # unchanged since last look
    assert (third.waiting, third.ingested, third.messages_new, third.errors) == (0, 1, 6, [])
    assert counts(engine, Message, InboxFile) == (6, 1)


def test_old_file_is_read_at_first_sight(db, tmp_path):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = whatsapp_txt(inbox / "chat.txt", messages(3))
    old = time.time() - 120
    os.utime(path, (old, old))
    result = watch_pass(engine, settings_for(db_url, tmp_path), inbox, InboxState(), settle_seconds=60, analyse=False)
    assert (result.ingested, result.waiting, result.messages_new) == (1, 0, 4)


def test_later_export_and_edit_through_the_inbox(db, tmp_path):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    settings, state = settings_for(db_url, tmp_path), InboxState()
    early = messages(4)
    telegram_json(inbox / "market", early)
    watch_pass(engine, settings, inbox, state, settle_seconds=0, analyse=False)

    # the analyst replaces the export with a later one of the same channel: same path, new bytes
    telegram_json(inbox / "market", edited(messages(7), 2, "Bicycle wanted in Mosul, any colour"))
    result = watch_pass(engine, settings, inbox, state, settle_seconds=0, analyse=False)
    again = watch_pass(engine, settings, inbox, state, settle_seconds=0, analyse=False)

    assert (result.ingested, result.messages_new, result.messages_seen) == (1, 3, 4)
    assert (again.ingested, again.known) == (0, 1)
    assert counts(engine, Message, InboxFile) == (7, 2)
    history = histories(engine)
    assert sum(map(len, history.values())) == 8
    assert history["3"] == [(1, early[2].text), (2, "Bicycle wanted in Mosul, any colour")]


def test_bad_file_is_logged_once_and_not_retried(db, tmp_path):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "notes.txt").write_text("shopping list: bread, milk\n")
    settings, state = settings_for(db_url, tmp_path), InboxState()
    first = watch_pass(engine, settings, inbox, state, settle_seconds=0, analyse=False)
    second = watch_pass(engine, settings, inbox, state, settle_seconds=0, analyse=False)
    assert first.errors == [f"{inbox}/notes.txt: not a recognised export; expected a Telegram Desktop export "
                            "(result.json or messages.html) or a WhatsApp chat (.txt)"]
    assert (second.errors, second.known) == ([], 1)
    with engine.connect() as conn:
        assert conn.execute(select(InboxFile.path, InboxFile.status)).all() == [("notes.txt", "error")]


def test_watch_runs_every_interval_and_stops_cleanly_on_sigterm(sqlite_url, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {**os.environ, "DETECTOR_EVIDENCE_DIR": str(tmp_path / "evidence"), "DETECTOR_MODELS_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [DETECTOR, "watch", "--db", sqlite_url, "--every", "1s", "--settle", "0",
         "--no-analyse", str(inbox)],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    engine = open_database(sqlite_url)
    try:
        telegram_json(inbox / "market", messages(3))
        deadline = time.time() + 60
        while counts(engine, Message) != (3,) and time.time() < deadline:
            time.sleep(0.3)
        assert counts(engine, Message) == (3,)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        engine.dispose()
    assert process.returncode == 0, stderr
    assert stderr.rstrip().endswith("INFO watch stopped")
    assert "Traceback" not in stderr


def test_parse_interval():
    assert [parse_interval(t) for t in ("90", "30s", "5m", "2h", "1d")] == [90, 30, 300, 7200, 86400]
    with pytest.raises(Exception, match="invalid interval '5 minutes'"):
        parse_interval("5 minutes")


def test_watch_rejects_a_bad_interval(tmp_path):
    result = run_cli(["watch", "--db", f"sqlite:///{tmp_path}/d.db", "--every", "soon", str(tmp_path)], tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: invalid interval 'soon': use a number with s, m, h or d, such as 5m"


def test_watch_scores_new_messages_when_a_model_exists(db, tmp_path, tiny_model_dir):
    db_url, engine = db
    inbox = tmp_path / "inbox"
    telegram_json(inbox / "market", messages(6))
    settings = Settings(database_url=db_url, evidence_dir=tmp_path / "evidence",
                        models_dir=tiny_model_dir.parent, model_name=tiny_model_dir.name)
    result = watch_pass(engine, settings, inbox, InboxState(), settle_seconds=0, analyse=False)
    assert result.messages_new == 6
    assert result.scoring.startswith("6 scored, ")
    assert counts(engine, Score) == (6,)
    again = watch_pass(engine, settings, inbox, InboxState(), settle_seconds=0, analyse=False)
    assert again.scoring.startswith("0 scored, ") and counts(engine, Score) == (6,)


def test_watch_job_looks_again_while_a_file_settles(sqlite_engine, sqlite_url, tmp_path, caplog, monkeypatch):
    inbox = tmp_path / "inbox"
    telegram_json(inbox / "market", messages(2))  # just written: younger than the settle time
    monkeypatch.setenv("DETECTOR_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("DETECTOR_MODELS_DIR", str(tmp_path))
    caplog.set_level(logging.INFO, logger="detector.watch")

    watch_job(sqlite_url, str(inbox), settle_seconds=1.0, analyse=False, timezone="UTC", every_seconds=60)

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("watch pass")]
    assert lines[0].startswith("watch pass: 0 new file(s), 0 already processed, 1 still being written")
    assert lines[-1].startswith("watch pass: 1 new file(s), 0 already processed, 0 still being written")
    assert counts(sqlite_engine, Message) == (2,)
