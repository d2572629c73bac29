"""Partner management from the command line: secrets from stdin or a file, stored encrypted;
disable, enable, remove, rotate-secret; TLP maximum; named actors; critical retries in minutes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from alert_receivers import WebhookReceiver, free_port
from detector.cli import main
from detector.db import open_database, session_scope
from detector.schema import AuditEvent, Delivery, Partner
from reports.outbox import RetryPolicy
from reports.partners import SecretBox
from reports.schedule import alert_pass
from reports.transport import SmtpSettings

OLD, NEW = "the-first-secret-0123456789", "the-rotated-secret-987654321"
NOW = datetime(2026, 2, 1, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def cli(world, monkeypatch):
    monkeypatch.setenv("DETECTOR_EVIDENCE_DIR", str(world.evidence_dir))
    monkeypatch.setenv("DETECTOR_ACTOR", "olga")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, [*args, "--db", world.url], input=input)

    return invoke


def test_secret_from_stdin_is_stored_encrypted_and_signs_after_rotation_from_a_file(world, cli, tmp_path):
    receiver = WebhookReceiver(free_port()).start()
    try:
        added = cli("partner", "add", "Unit", "--webhook", receiver.url, "--secret-stdin", input=OLD + "\n")
        assert added.exit_code == 0 and "signed" in added.output, added.output
        engine = open_database(world.url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT secret FROM partner")).scalar_one()
        assert stored.startswith("fernet:") and OLD not in stored  # a copy of the database does not reveal it
        new_file = tmp_path / "secret.txt"
        new_file.write_text(NEW + "\n")
        rotated = cli("partner", "rotate-secret", "Unit", "--secret-file", str(new_file))
        assert rotated.exit_code == 0, rotated.output
        box = SecretBox.for_settings(world.settings)
        alert_pass(engine, smtp=SmtpSettings(port=1), actor="olga", box=box, now=NOW)
    finally:
        receiver.stop()
    [got] = receiver.received
    signed = got.headers["x-timestamp"].encode() + b"." + got.body
    assert got.headers["x-signature"] == "sha256=" + hmac.new(NEW.encode(), signed, hashlib.sha256).hexdigest()
    with session_scope(engine) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "partner")).all()
        assert [(e.action, e.actor) for e in events] == [("partner_add", "olga"), ("partner_rotate_secret", "olga")]
        assert all(OLD not in str(e.after) and NEW not in str(e.after) for e in events)
    missing = cli("partner", "rotate-secret", "Unit", "--secret-file", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 1 and "nope.txt: cannot read the secret" in missing.output
    assert "Traceback" not in missing.output


def test_disable_holds_alerts_enable_sends_them_remove_withdraws_pending(world, cli, smtp_box):
    smtp, box = smtp_box
    assert cli("partner", "add", "Desk", "--email", "desk@ngo.test").exit_code == 0
    assert cli("partner", "add", "Gone", "--email", "gone@ngo.test").exit_code == 0
    assert cli("partner", "disable", "Desk").exit_code == 0
    engine = open_database(world.url)
    dead = SmtpSettings(host="127.0.0.1", port=free_port(), tls="none")
    alert_pass(engine, smtp=dead, actor="olga", now=NOW)  # Gone: queued, mail server down
    removed = cli("partner", "remove", "Gone")
    assert removed.exit_code == 0 and "1 pending delivery(ies) withdrawn" in removed.output
    alert_pass(engine, smtp=smtp, actor="olga", now=NOW + timedelta(hours=1))
    assert box.messages == []  # Desk disabled, Gone removed
    assert cli("partner", "enable", "Desk").exit_code == 0
    alert_pass(engine, smtp=smtp, actor="olga", now=NOW + timedelta(hours=2))
    assert [m["To"] for m in box.messages] == ["desk@ngo.test"]
    listed = cli("partner", "list").output
    assert "Desk\temail" in listed and "Gone" not in listed
    with session_scope(engine) as s:
        assert s.scalar(select(Partner.secret).where(Partner.name == "Gone")) == ""
        assert {d.status for d in s.scalars(select(Delivery).join(Partner).where(Partner.name == "Gone"))} == {"withdrawn"}
    again = cli("partner", "add", "Gone", "--email", "gone@ngo.test")
    assert again.exit_code == 1 and "exists or existed" in again.output


def test_a_partner_hears_only_of_items_within_its_tlp_maximum(world, cli, smtp_box):
    smtp, box = smtp_box
    assert cli("partner", "add", "Green", "--email", "green@ngo.test", "--max-tlp", "green").exit_code == 0
    assert cli("partner", "add", "Amber", "--email", "amber@ngo.test").exit_code == 0  # AMBER by default
    assert cli("partner", "add", "Red", "--email", "red@ngo.test", "--max-tlp", "RED").exit_code == 0
    opened = cli("case", "open", "--messages", str(world.reposts[0]), "--tlp", "GREEN")
    assert opened.exit_code == 0, opened.output
    ref = opened.output.split()[1]
    assert cli("case", "tlp", ref, "red").exit_code == 0  # the case becomes RED before anything is sent
    engine = open_database(world.url)
    alert_pass(engine, smtp=smtp, actor="olga", now=NOW)
    got = {m["To"]: a for m, a in zip(box.messages, box.alerts())}
    assert sorted(i["message_id"] for i in got["red@ngo.test"]["items"]) == world.reposts
    assert got["red@ngo.test"]["tlp"] == "RED" and got["red@ngo.test"]["cases"] == [ref]
    assert box.messages[[m["To"] for m in box.messages].index("red@ngo.test")]["Subject"].startswith(f"[TLP:RED] {ref}")
    assert [i["message_id"] for i in got["amber@ngo.test"]["items"]] == [world.reposts[1]]  # the RED one held back
    assert got["amber@ngo.test"]["tlp"] == "AMBER"  # an item in no case yet is AMBER
    assert "green@ngo.test" not in got  # AMBER and RED items both exceed its maximum


@pytest.mark.parametrize("actor", ["detector", "Detector", "  "])
def test_commands_refuse_a_program_as_the_actor(world, cli, actor):
    result = cli("partner", "add", "Desk", "--email", "desk@ngo.test", "--actor", actor)
    assert result.exit_code == 1 and "--actor" in result.output and "Traceback" not in result.output
    named = cli("partner", "add", "Desk", "--email", "desk@ngo.test", "--actor", "rustam")
    assert named.exit_code == 0
    with session_scope(open_database(world.url)) as s:
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "partner_add")) == "rustam"


def test_critical_deliveries_retry_within_minutes_others_back_off_to_hours():
    policy = RetryPolicy()
    critical = [policy.delay(n, critical=True) for n in range(1, 12)]
    assert critical[0] == timedelta(seconds=15) and max(critical) == timedelta(minutes=5)
    assert max(policy.delay(n) for n in range(1, 12)) == timedelta(hours=6)


@pytest.fixture
def smtp_box():
    from alert_receivers import smtp_server

    controller, box = smtp_server()
    yield SmtpSettings(host="127.0.0.1", port=controller.port, tls="none"), box
    controller.stop()
