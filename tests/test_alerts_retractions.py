"""A withdrawn confirmation reaches every partner that received the item as a signed retraction,
by e-mail (aiosmtpd) and by HTTPS webhook; changed facts go out as an update."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from alert_receivers import WebhookReceiver, free_port, self_signed_cert, smtp_server
from detector.db import open_database, session_scope
from detector.schema import Score
from reports.partners import SecretBox, add_partner
from reports.schedule import alert_pass
from reports.transport import SmtpSettings
from reports_support import REVIEWER, confirm, decide

SECRET = "a-long-shared-secret-0123456789"
NOW = datetime(2026, 2, 1, 7, 0, tzinfo=timezone.utc)


def _checks(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """The partner's check, as docs/partners.md gives it."""
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip())  # a mail header may come folded


def _mail_alert(mail) -> tuple[bytes, dict]:  # type: ignore[no-untyped-def]
    [part] = [p for p in mail.iter_attachments() if p.get_filename() == "alert.json"]
    raw = part.get_content()
    return raw, json.loads(raw)


def test_withdrawn_confirmation_is_retracted_by_mail_and_webhook_and_changed_facts_updated(world, tmp_path, monkeypatch):
    cert = self_signed_cert(tmp_path)
    monkeypatch.setenv("DETECTOR_CA_BUNDLE", str(cert[0]))
    receiver = WebhookReceiver(free_port(), cert).start()
    controller, mailbox = smtp_server()
    engine = open_database(world.url)
    box = SecretBox.for_settings(world.settings)
    with session_scope(engine) as s:
        add_partner(s, "olga", "NGO mail", box=box, email="desk@ngo.test", secret=SECRET)
        add_partner(s, "olga", "Unit hook", box=box, webhook=receiver.url, secret=SECRET)
    smtp = SmtpSettings(host="127.0.0.1", port=controller.port, tls="none")

    def run(at: datetime) -> tuple[int, int]:
        queued, outcome = alert_pass(engine, smtp=smtp, actor="olga", box=box, now=at)
        return queued, len(outcome.sent)

    try:
        assert run(NOW) == (2, 2)
        first_mail = _mail_alert(mailbox.messages[0])[1]
        first_hook = json.loads(receiver.received[0].body)
        withdrawn, kept = world.reposts
        decide(engine, withdrawn, REVIEWER, "reviewer", "not_listing", at=NOW + timedelta(minutes=5))
        assert run(NOW + timedelta(minutes=6)) == (2, 2)  # one retraction per partner
        assert run(NOW + timedelta(minutes=7)) == (0, 0)  # told once
        with session_scope(engine) as s:  # the kept listing is scored again: its facts changed
            s.add(Score(message_id=kept, model_version="fast-test-2", probability=0.51, flagged=True, tier="fast",
                        reasons=[], created_at=NOW + timedelta(minutes=8)))
        assert run(NOW + timedelta(minutes=9)) == (2, 2)
        confirm(engine, withdrawn)  # confirmed again by analyst and reviewer
        decide(engine, withdrawn, REVIEWER, "reviewer", "listing", at=NOW + timedelta(minutes=10))
        assert run(NOW + timedelta(minutes=11)) == (2, 2)
    finally:
        controller.stop()
        receiver.stop()

    mails = [_mail_alert(m) for m in mailbox.messages]
    hooks = [(r.body, json.loads(r.body), r.headers) for r in receiver.received]
    assert [b["type"] for _, b in mails] == [b["type"] for _, b, _ in hooks] == ["immediate", "retraction", "update",
                                                                                  "update"]
    for (raw, body), mail, (hook_raw, hook, headers) in zip(mails, mailbox.messages, hooks):
        assert _checks(SECRET, mail["X-Timestamp"], raw, mail["X-Signature"])  # e-mail: signed too
        assert _checks(SECRET, headers["x-timestamp"], hook_raw, headers["x-signature"])
        assert mail["X-Delivery-Id"] == body["delivery_id"] and headers["x-delivery-id"] == hook["delivery_id"]
        assert not _checks(SECRET, str(int(mail["X-Timestamp"]) + 1), raw, mail["X-Signature"])  # time is signed

    for retraction, first in ((mails[1][1], first_mail), (hooks[1][1], first_hook)):
        [item] = retraction["items"]
        assert item["message_id"] == withdrawn and item["first_alert"]["delivery_id"] == first["delivery_id"]
        assert "withdrawn" in retraction["note"]
    assert "RETRACTED" in mailbox.messages[1]["Subject"]
    assert "WITHDRAWN message" in mailbox.messages[1].get_body(("plain",)).get_content()
    for update in (mails[2][1], hooks[2][1]):
        [item] = update["items"]
        assert (item["message_id"], item["score"], item["reinstated"]) == (kept, 0.51, False)
    for update in (mails[3][1], hooks[3][1]):
        [item] = update["items"]
        assert (item["message_id"], item["reinstated"]) == (withdrawn, True)
    assert len({b["delivery_id"] for _, b in mails} | {h["delivery_id"] for _, h, _ in hooks}) == 8  # all unique
    with session_scope(engine) as s:
        assert s.scalar(select(Score.id).where(Score.model_version == "fast-test-2")) is not None
