"""Hardening 1: a PDF export never holds a write transaction while it renders.

A real `detector report CASE --format pdf` subprocess renders a case holding a 2 MB message (minutes of
WeasyPrint); while it renders, logins, decisions and a direct write on the same SQLite database must each
finish in under a second. The render is then stopped: a render that never finished leaves no audit row
claiming an export. A finished export's audit row names the SHA-256 of exactly the bytes sent.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from detector.db import open_database, session_scope
from detector.schema import AuditEvent
from labeling.app import create_app
from labeling_support import Item, csrf_of, login, make_users, store_items
from reports.cases import open_case_from
from reports_support import confirm

LINE = "Girl for sale, 16, contact the seller now. للبيع فتاة ١٦ سنة اتصل الآن\n"
BIG_MESSAGE_BYTES = 2_000_000
WRITE_LIMIT_S = 1.0
STOP_RENDER_AFTER_S = 12.0  # before the fix a blocked write waits this long (the export holds the lock)

# The real CLI in a real process; the only addition is a line on stdout when the PDF render starts.
ANNOUNCE_RENDER = """
import sys
import reports.export as export
real_to_pdf = export.to_pdf
def to_pdf(*args, **kwargs):
    print("rendering", flush=True)
    return real_to_pdf(*args, **kwargs)
export.to_pdf = to_pdf
from detector.cli import main
main(sys.argv[1:], prog_name="detector")
"""


def _timed(latencies: dict[str, float], name: str, write) -> object:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    result = write()
    latencies[name] = time.monotonic() - start
    return result


def _wait_for_line(proc: subprocess.Popen, expected: str, timeout: float) -> None:
    found = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.strip() == expected:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), f"the export never started rendering: {proc.poll()=}"


def _direct_write(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        s.add(AuditEvent(actor="tester", action="note", object_type="test", object_id="lock"))


def test_writes_go_through_while_a_pdf_export_renders(world, tmp_path):
    engine = open_database(world.url)
    big = LINE * (BIG_MESSAGE_BYTES // len(LINE.encode()) + 1)
    [big_id] = store_items(engine, [Item(text=big, language="ar")])
    confirm(engine, big_id)
    with session_scope(engine) as s:
        big_ref = open_case_from(s, "tester", message_ids=[big_id], tlp="RED").ref
        small_ref = open_case_from(s, "tester", message_ids=[world.reposts[0]], tlp="AMBER").ref
    make_users(engine, ("rita", "reviewer"), ("ann", "analyst"))
    app = create_app(world.settings, secret_file=tmp_path / "secret")
    with app.state.engine.connect() as conn:
        busy_timeout_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    print(f"\nweb app SQLite busy_timeout: {busy_timeout_ms} ms")
    assert busy_timeout_ms >= 1000  # a write meeting a short write transaction waits instead of failing
    reviewer, analyst = TestClient(app), TestClient(app)
    assert login(reviewer, "rita").status_code == 303 and login(analyst, "ann").status_code == 303
    reviewer_token, analyst_token = csrf_of(reviewer, "/cases"), csrf_of(analyst, "/queue")

    env = {**os.environ, "DETECTOR_EVIDENCE_DIR": str(world.evidence_dir), "DETECTOR_ACTOR": "exporter"}
    proc = subprocess.Popen([sys.executable, "-c", ANNOUNCE_RENDER, "report", big_ref, "--format", "pdf",
                             "--out", str(tmp_path / "big.pdf"), "--db", world.url],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(STOP_RENDER_AFTER_S, proc.kill)  # bounds the test when a write is blocked
    latencies: dict[str, float] = {}
    try:
        _wait_for_line(proc, "rendering", timeout=60)
        time.sleep(0.5)  # well inside the render
        watchdog.start()
        fresh = TestClient(app)
        _timed(latencies, "login", lambda: login(fresh, "ann"))
        decided = _timed(latencies, "decision (web)", lambda: reviewer.post(
            f"/items/{world.unconfirmed}/decision", data={"decision": "listing", "role": "reviewer",
                                                          "csrf_token": reviewer_token}, follow_redirects=False))
        _timed(latencies, "direct session write", lambda: _direct_write(engine))
        decided_again = _timed(latencies, "decision (web, analyst)", lambda: analyst.post(
            f"/items/{world.hostile}/decision", data={"decision": "not_listing", "role": "analyst",
                                                      "csrf_token": analyst_token}, follow_redirects=False))
        still_rendering = proc.poll() is None
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(timeout=30)
    print("write latencies during the PDF render: " + ", ".join(f"{k} {v:.3f} s" for k, v in latencies.items()))
    assert decided.status_code == 303 and decided_again.status_code == 303  # type: ignore[attr-defined]
    assert all(v < WRITE_LIMIT_S for v in latencies.values()), latencies
    assert still_rendering, "the render ended before the writes: they did not overlap it"
    with session_scope(engine) as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.actor == "ann")).all()
        unfinished = s.scalars(select(AuditEvent).where(AuditEvent.action == "report_export",
                                                        AuditEvent.object_id == big_ref)).all()
        assert unfinished == []  # the render never finished: no audit row claims the export

    pdf = reviewer.post(f"/cases/{small_ref}/report", data={"format": "pdf", "csrf_token": reviewer_token})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with session_scope(engine) as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "report_export",
                                                     AuditEvent.object_id == small_ref)).all()
        assert event.actor == "rita" and event.after["format"] == "pdf" and event.after["via"] == "web"
        assert event.after["sha256"] == hashlib.sha256(pdf.content).hexdigest()
        assert event.after["size"] == len(pdf.content)
    engine.dispose()
