"""Two `detector watch` processes on one database (real subprocesses, PostgreSQL and SQLite) over one inbox,
alerting partners on a real SMTP server (aiosmtpd): every file is ingested once, every alert sent once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from alert_receivers import MailBox, free_port
from ingest_fixtures import messages, telegram_json
from reports_support import confirm
from sqlalchemy import func, select

from detector.db import open_database, session_scope
from detector.schema import AlertedMessage, Delivery, ExportFile, InboxFile, Message
from reports.partners import SecretBox, add_partner

DETECTOR = str(Path(sys.executable).with_name("detector"))
CHATS = 8
FIRST, LATER = 800, 50  # messages per export: the first exports make passes long enough for both watchers to race
PARTNERS = ("NGO one", "NGO two")


def _wait_for(what: str, done: Callable[[], bool], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class SlowMailBox(MailBox):
    """A mail server taking a second per message, so an alert pass lasts while the other watcher's begins."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(1.0)
        return await super().handle_DATA(server, session, envelope)


def _chat(inbox: Path, number: int, count: int) -> None:
    """One Telegram export of its own chat."""
    telegram_json(inbox / f"chat{number:02d}", messages(count, start=number * FIRST), chat_id=100 + number)


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def _watchers(db_url: str, inbox: Path, env: dict[str, str]) -> list[subprocess.Popen[str]]:
    command = [DETECTOR, "watch", "--db", db_url, "--every", "1s", "--settle", "0", str(inbox)]
    return [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]


def _stop(watchers: list[subprocess.Popen[str]]) -> list[str]:
    for process in watchers:
        process.send_signal(signal.SIGTERM)
    logs = [process.communicate(timeout=120)[1] for process in watchers]
    assert [process.returncode for process in watchers] == [0, 0], logs
    return logs


def test_two_watchers_ingest_every_file_once_and_send_every_alert_once(db_url, tmp_path):
    engine = open_database(db_url)  # migrated once, before the watchers start (as docs/deploy.md says)
    box = SlowMailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox, evidence = tmp_path / "inbox", tmp_path / "evidence"
    env = {**os.environ, "DETECTOR_EVIDENCE_DIR": str(evidence), "DETECTOR_MODELS_DIR": str(tmp_path / "no-models"),
           "DETECTOR_PARTNER_KEY_FILE": str(tmp_path / "partner.key"), "DETECTOR_ACTOR": "olga",
           "DETECTOR_ALERT_EVERY": "1s", "DETECTOR_SMTP_HOST": "127.0.0.1",
           "DETECTOR_SMTP_PORT": str(controller.port), "DETECTOR_SMTP_TLS": "none"}
    with session_scope(engine) as session:
        for name in PARTNERS:
            add_partner(session, "tester", name, box=SecretBox(tmp_path / "partner.key"), email=f"desk@{name[4:]}.test")
    for number in range(CHATS // 2):
        _chat(inbox, number, FIRST)
    watchers = _watchers(db_url, inbox, env)
    try:
        _wait_for("the first exports", lambda: _count(engine, InboxFile) == CHATS // 2)
        for number in range(CHATS // 2, CHATS):  # more exports arrive while both watch
            _chat(inbox, number, LATER)
        _wait_for("every export", lambda: _count(engine, InboxFile) == CHATS)
        with engine.connect() as conn:
            ids = conn.scalars(select(Message.id).order_by(Message.id)).all()
        rounds = [ids[:2], ids[-3:]]
        for number, confirmed in enumerate(rounds, start=1):
            for message_id in confirmed:
                confirm(engine, message_id, tags=("minor",))
            _wait_for(f"alert round {number}", lambda n=number: len(box.messages) >= n * len(PARTNERS))
        time.sleep(4)  # several more alert passes of each watcher: nothing is sent again
    finally:
        logs = _stop(watchers)
        controller.stop()

    assert _count(engine, InboxFile) == _count(engine, ExportFile) == CHATS
    assert _count(engine, Message) == CHATS // 2 * (FIRST + LATER)
    with engine.connect() as conn:
        assert conn.scalars(select(InboxFile.status)).all() == ["ingested"] * CHATS
        assert len(set(conn.scalars(select(InboxFile.path)))) == CHATS
    ingested = [sum(int(n) for n in re.findall(r"watch pass: (\d+) new file", log)) for log in logs]
    assert sum(ingested) == CHATS, logs  # no watcher read a file the other had stored
    assert any("watch pass skipped: another watcher is running one" in log for log in logs), logs
    assert any("alerts: another process is running a pass on this database; skipped" in log for log in logs), logs
    assert not any(" ERROR " in log or "Traceback" in log for log in logs), logs

    alerts = box.alerts()
    assert len(alerts) == len(box.messages) == len(rounds) * len(PARTNERS)
    per_partner = Counter((mail["To"], item["message_id"]) for mail, alert in zip(box.messages, alerts)
                          for item in alert["items"])
    expected = {(f"desk@{name[4:]}.test", mid) for name in PARTNERS for r in rounds for mid in r}
    assert set(per_partner) == expected and set(per_partner.values()) == {1}
    with engine.connect() as conn:
        assert conn.scalars(select(Delivery.status)).all() == ["sent"] * len(alerts)
        assert _count(engine, AlertedMessage) == len(expected)
    engine.dispose()
