"""Partner alerts end to end: a real SMTP server (aiosmtpd) and a real HTTP(S) receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from alert_receivers import WebhookReceiver, free_port, self_signed_cert, smtp_server
from detector.cli import main
from detector.db import open_database, session_scope
from detector.errors import ConfigError
from detector.schema import AuditEvent, Delivery
from reports.outbox import RetryPolicy, deliver_due
from reports.partners import SecretBox, add_partner
from reports.schedule import add_alert_jobs, alert_pass
from reports.transport import SmtpSettings, signature
from reports_support import ANALYST, REVIEWER, decide

SECRET = "a-long-shared-secret-0123456789"
NOW = datetime(2026, 2, 1, 7, 0, tzinfo=timezone.utc)
OPERATOR = "olga"


@pytest.fixture
def smtp():
    controller, box = smtp_server()
    yield SmtpSettings(host="127.0.0.1", port=controller.port, tls="none", sender="alerts@detector.test"), box
    controller.stop()


def _partner(world, name, **kwargs):
    engine = open_database(world.url)
    with session_scope(engine) as s:
        add_partner(s, "tester", name, box=_box(world), **kwargs)
    return engine


def _box(world):
    return SecretBox.for_settings(world.settings)


def _pass(world, engine, smtp, **kwargs):
    return alert_pass(engine, smtp=smtp, actor=OPERATOR, box=_box(world), **kwargs)


def _due(world, engine, smtp, **kwargs):
    return deliver_due(engine, smtp=smtp, actor=OPERATOR, box=_box(world), **kwargs)


def _message_ids(alerts):
    return sorted(item["message_id"] for a in alerts for item in a["items"])


def test_email_immediate_for_minors_and_daily_digest_arrive_once(world, smtp):
    settings, box = smtp
    engine = _partner(world, "NGO mail", email="desk@ngo.test")
    queued, run = _pass(world, engine, smtp=settings, now=NOW)
    assert (queued, len(run.sent)) == (1, 1)  # the two posts of a 16-year-old: at once, in one alert
    assert [a["type"] for a in box.alerts()] == ["immediate"]
    assert _message_ids(box.alerts()) == world.reposts
    assert all(i["suspected_minor"] and i["severity"] == "critical" for i in box.alerts()[0]["items"])
    assert box.messages[0]["Subject"].startswith("[TLP:AMBER] 2 suspected minors")
    assert "lead for investigation, not a finding" in box.messages[0].get_body(("plain",)).get_content()

    _pass(world, engine, smtp=settings, now=NOW + timedelta(minutes=1))  # nothing new: nothing sent again
    assert len(box.messages) == 1
    queued, run = _pass(world, engine, smtp=settings, digest=True, now=NOW + timedelta(hours=1))
    assert (queued, len(run.sent)) == (1, 1)
    digest = box.alerts()[-1]
    assert digest["type"] == "digest" and _message_ids([digest]) == sorted([world.persian, world.hostile])
    _pass(world, engine, smtp=settings, digest=True, now=NOW + timedelta(hours=2))
    _pass(world, engine, smtp=settings, digest=True, now=NOW + timedelta(days=1))
    assert len(box.messages) == 2  # the same digest day, and the next day with nothing new: no repeat
    assert world.unconfirmed not in _message_ids(box.alerts())  # only confirmed AND reviewed items leave
    with session_scope(engine) as s:
        sent_events = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "delivery_sent"))
    assert sent_events == 2


def test_webhook_is_signed_and_a_receiver_that_was_down_gets_it_after_retry(world, tmp_path, monkeypatch):
    cert = self_signed_cert(tmp_path)
    monkeypatch.setenv("DETECTOR_CA_BUNDLE", str(cert[0]))  # trust the test's own certificate
    receiver = WebhookReceiver(free_port(), cert)
    engine = _partner(world, "Unit hook", webhook=receiver.url, secret=SECRET)
    policy = RetryPolicy(critical_base_seconds=30)
    smtp_unused = SmtpSettings(host="127.0.0.1", port=1)

    queued, run = _pass(world, engine, smtp=smtp_unused, policy=policy, now=NOW)  # receiver is down
    assert queued == 1 and len(run.failed) == 1 and not run.sent
    run = _due(world, engine, smtp=smtp_unused, policy=policy, now=NOW + timedelta(seconds=10))
    assert not run.sent and not run.failed  # not due yet: backoff
    run = _due(world, engine, smtp=smtp_unused, policy=policy, now=NOW + timedelta(seconds=31))
    assert len(run.failed) == 1  # second failure: next try 60 s later
    with session_scope(engine) as s:
        waits = {d.next_attempt_at - (NOW + timedelta(seconds=31)) for d in s.scalars(select(Delivery))}
        assert waits == {timedelta(seconds=60)} and all(d.status == "pending" for d in s.scalars(select(Delivery)))

    receiver.start()
    try:
        run = _due(world, engine, smtp=smtp_unused, policy=policy, now=NOW + timedelta(seconds=95))
        assert len(run.sent) == 1
        _due(world, engine, smtp=smtp_unused, policy=policy, now=NOW + timedelta(hours=5))
    finally:
        receiver.stop()
    assert len(receiver.received) == 1  # exactly once
    got = receiver.received[0]
    timestamp = got.headers["x-timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-signature"] == expected == signature(SECRET, timestamp, got.body)
    assert got.headers["x-signature"] != "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert str(uuid.UUID(got.headers["x-delivery-id"], version=4)) == got.headers["x-delivery-id"]
    assert json.loads(got.body)["delivery_id"] == got.headers["x-delivery-id"]
    assert sorted(item["message_id"] for item in json.loads(got.body)["items"]) == world.reposts
    with session_scope(engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "delivery")).all()
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.object_type == "delivery")))
    assert actions.count("delivery_failed") == 2 and actions.count("delivery_sent") == 1
    assert actors == {OPERATOR}  # a person, never a program


def test_filters_and_a_withdrawn_confirmation_keep_alerts_home(world, smtp):
    settings, box = smtp
    engine = _partner(world, "Persian desk", email="fa@ngo.test", languages=["fa"])
    _partner(world, "Critical only", email="crit@ngo.test", min_severity="critical", places=["Mosul"])
    _pass(world, engine, smtp=settings, now=NOW)
    _pass(world, engine, smtp=settings, digest=True, now=NOW)
    got = {m["To"]: _message_ids([a]) for m, a in zip(box.messages, box.alerts())}
    assert got == {"crit@ngo.test": [world.reposts[0]], "fa@ngo.test": [world.persian]}  # Mosul is message 1's place

    decide(engine, world.reposts[1], REVIEWER, "reviewer", "not_listing", at=NOW)  # no longer confirmed
    _partner(world, "Late partner", email="late@ngo.test", places=["Raqqa"])
    queued, run = _pass(world, engine, smtp=settings, now=NOW + timedelta(minutes=5))
    assert queued == 0 and len(box.messages) == 2


def test_cli_partner_add_alert_test_and_run_once(world, smtp, monkeypatch):
    settings, box = smtp
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(settings.port)), ("TLS", "none")):
        monkeypatch.setenv(f"DETECTOR_SMTP_{name}", value)
    monkeypatch.setenv("DETECTOR_EVIDENCE_DIR", str(world.evidence_dir))
    runner = CliRunner(env={"DETECTOR_ACTOR": OPERATOR})
    db = ["--db", world.url]
    result = runner.invoke(main, ["partner", "add", "Hotline", "--email", "hotline@ngo.test", *db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["alert", "test", "Hotline", *db])
    assert result.exit_code == 0 and "Test alert sent" in result.output
    assert box.alerts()[0]["type"] == "test" and box.alerts()[0]["items"] == []
    result = runner.invoke(main, ["alert", "run", "--once", "--digest", *db])
    assert result.exit_code == 0 and "2 queued; 2 sent" in result.output, result.output
    result = runner.invoke(main, ["partner", "add", "Bad", "--webhook", "http://example.org/x", "--secret-stdin", *db],
                           input=SECRET + "\n")
    assert result.exit_code == 1 and "must use https://" in result.output
    result = runner.invoke(main, ["partner", "add", "Bad", "--webhook", "https://example.org/x", "--secret-stdin", *db],
                           input="short\n")
    assert result.exit_code == 1 and "at least 16 characters" in result.output
    result = runner.invoke(main, ["partner", "add", "Bad", "--webhook", "https://example.org/x", "--secret", SECRET, *db])
    assert result.exit_code == 2 and "No such option '--secret'" in result.output  # never on the command line
    assert "Hotline\temail\thotline@ngo.test" in runner.invoke(main, ["partner", "list", *db]).output


def test_alert_test_to_a_dead_server_fails_clearly_and_stays_in_the_outbox(world, monkeypatch):
    monkeypatch.setenv("DETECTOR_EVIDENCE_DIR", str(world.evidence_dir))
    monkeypatch.setenv("DETECTOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DETECTOR_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("DETECTOR_SMTP_TLS", "none")
    runner = CliRunner(env={"DETECTOR_ACTOR": OPERATOR})
    runner.invoke(main, ["partner", "add", "Hotline", "--email", "hotline@ngo.test", "--db", world.url])
    result = runner.invoke(main, ["alert", "test", "Hotline", "--db", world.url])
    assert result.exit_code == 1 and "failed: SMTP 127.0.0.1" in result.output and "Traceback" not in result.output
    with session_scope(open_database(world.url)) as s:
        delivery = s.scalar(select(Delivery))
        assert (delivery.status, delivery.attempts) == ("pending", 1) and delivery.last_error


def test_jobs_can_be_hosted_by_an_apscheduler(world, smtp):
    from apscheduler.schedulers.background import BackgroundScheduler

    settings, box = smtp
    engine = _partner(world, "NGO mail", email="desk@ngo.test")
    scheduler = BackgroundScheduler(timezone="UTC")
    add_alert_jobs(scheduler, engine, smtp=settings, actor=OPERATOR, every_seconds=3600, digest_at="06:30")
    assert {job.id for job in scheduler.get_jobs()} == {"alerts-immediate", "alerts-digest"}
    scheduler.start()
    try:
        import time

        for _ in range(100):
            if len(box.messages) >= 1:
                break
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        scheduler.shutdown(wait=True)
    assert len(box.messages) == 1  # the immediate job ran at start; the digest waits for 06:30 UTC
    with pytest.raises(ConfigError):
        add_alert_jobs(scheduler, engine, smtp=settings, actor=OPERATOR, digest_at="25:00")


def test_a_queued_alert_is_withheld_when_its_confirmation_is_withdrawn(world, smtp):
    settings, box = smtp
    engine = _partner(world, "NGO mail", email="desk@ngo.test")
    dead = SmtpSettings(host="127.0.0.1", port=free_port(), tls="none")
    queued, run = _pass(world, engine, smtp=dead, now=NOW)  # queued, but the mail server is down
    assert queued == 1 and len(run.failed) == 1
    decide(engine, world.reposts[0], ANALYST, "analyst", "not_listing", at=NOW)
    decide(engine, world.reposts[0], REVIEWER, "reviewer", "not_listing", at=NOW)
    run = _due(world, engine, smtp=settings, now=NOW + timedelta(hours=1))
    assert len(run.withheld) == 1 and not run.sent and not box.messages
    queued, run = _pass(world, engine, smtp=settings, now=NOW + timedelta(hours=1))  # the other is queued afresh
    assert (queued, len(run.sent)) == (1, 1)
    assert _message_ids(box.alerts()) == [world.reposts[1]]


def test_email_goes_over_starttls_to_a_server_that_requires_it(world, tmp_path, monkeypatch):
    cert = self_signed_cert(tmp_path)
    monkeypatch.setenv("DETECTOR_CA_BUNDLE", str(cert[0]))
    controller, box = smtp_server(cert)
    try:
        engine = _partner(world, "NGO mail", email="desk@ngo.test")
        plain = SmtpSettings(host="localhost", port=controller.port, tls="none")
        queued, run = _pass(world, engine, smtp=plain, now=NOW)
        assert queued == 1 and len(run.failed) == 1 and not box.messages  # refused without TLS
        secure = SmtpSettings(host="localhost", port=controller.port, tls="starttls")
        run = _due(world, engine, smtp=secure, now=NOW + timedelta(hours=1))
        assert len(run.sent) == 1 and _message_ids(box.alerts()) == world.reposts
    finally:
        controller.stop()
