"""Issue 7 "done when": from the sample data an analyst confirms, a reviewer confirms, a case report comes
out in all four formats, verifies, and a partner receives an alert (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from alert_receivers import WebhookReceiver, free_port
from detector.cli import main
from detector.config import Settings
from detector.db import session_scope
from detector.ingest.run import ingest_paths
from detector.synthetic.sample import REPOST_TEXTS, SAMPLE_DIR
from detector.schema import Message, Score
from labeling.app import create_app
from labeling_support import csrf_of, login, make_users
from reports.schema import schema_errors
from reports.transport import signature

SECRET = "end-to-end-secret-0123456789"


def _decide(app, name: str, role: str, message_id: int) -> None:
    client = TestClient(app)
    assert login(client, name).status_code == 303
    token = csrf_of(client, f"/items/{message_id}")
    done = client.post(f"/items/{message_id}/decision", data={"decision": "listing", "role": role, "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303


def test_sample_to_confirmed_case_reports_verified_and_partner_alerted(engine, db_url, tmp_path):
    settings = Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", actor="ingester")
    assert ingest_paths(engine, settings, [SAMPLE_DIR]).errors == []
    with session_scope(engine) as s:
        ids = sorted(s.scalars(select(Message.id).where(Message.text.in_(REPOST_TEXTS))))
        s.add_all(Score(message_id=i, model_version="fast-e2e", probability=0.97, flagged=True, tier="fast") for i in ids)
    make_users(engine, ("ann", "analyst"), ("rita", "reviewer"))
    app = create_app(settings, secret_file=tmp_path / "secret")
    for message_id in ids:
        _decide(app, "ann", "analyst", message_id)
        _decide(app, "rita", "reviewer", message_id)

    runner = CliRunner()
    env = {"DETECTOR_EVIDENCE_DIR": str(settings.evidence_dir), "DETECTOR_ACTOR": "rita"}
    db = ["--db", db_url]
    opened = runner.invoke(main, ["case", "open", "--messages", ",".join(map(str, ids)), "--tlp", "AMBER",
                                  "--summary", "One listing, two channels, one phone", *db], env=env)
    assert opened.exit_code == 0, opened.output
    ref = opened.output.split()[1]
    out = {}
    for fmt in ("html", "pdf", "json", "csv"):
        out[fmt] = tmp_path / f"{ref}.{fmt}"
        result = runner.invoke(main, ["report", ref, "--format", fmt, "--out", str(out[fmt]), *db], env=env)
        assert result.exit_code == 0, result.output
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    assert schema_errors(report) == [] and len(report["messages"]) == 2
    assert {d["user"] for m in report["messages"] for d in m["decisions"]} == {"ann", "rita"}
    assert out["pdf"].read_bytes().startswith(b"%PDF") and "سبية" in out["html"].read_text(encoding="utf-8")
    assert len(list(csv.DictReader(io.StringIO(out["csv"].read_text(encoding="utf-8-sig"))))) == 2
    verified = runner.invoke(main, ["verify", str(out["json"]), "--evidence", str(settings.evidence_dir), *db])
    assert verified.exit_code == 0 and "all hashes match" in verified.output, verified.output

    receiver = WebhookReceiver(free_port()).start()
    try:
        added = runner.invoke(main, ["partner", "add", "Investigators", "--webhook", receiver.url, "--secret-stdin",
                                     "--language", "ar", *db], env=env, input=SECRET + "\n")
        assert added.exit_code == 0, added.output
        sent = runner.invoke(main, ["alert", "run", "--once", *db], env=env)
        assert sent.exit_code == 0 and "1 queued; 1 sent" in sent.output, sent.output  # minors batched per pass
    finally:
        receiver.stop()
    [got] = receiver.received
    assert got.headers["x-signature"] == signature(SECRET, got.headers["x-timestamp"], got.body)
    body = json.loads(got.body)
    assert body["type"] == "immediate" and all(item["suspected_minor"] for item in body["items"])
    assert body["cases"] == [ref] and body["tlp"] == "AMBER"
    assert sorted(item["message_id"] for item in body["items"]) == ids
