"""A watchlist match is told to the list's owner, once per match, on a real SMTP server (aiosmtpd) and a
real HTTP receiver: its own reference only, victims' names masked, never another list's reference.
Real SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import random
from datetime import datetime, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from alert_receivers import WebhookReceiver, free_port, smtp_server
from detector.config import Settings
from detector.db import session_scope
from detector.link.run import link_pending
from detector.schema import AlertedMessage, Delivery, WatchlistMatch
from detector.synthetic.sample import sample_photo
from detector.watchlist.hashes import photo_entry
from detector.watchlist.store import add_watchlist, import_entries
from labeling_support import Item, add_photo, age_signal, store_items
from reports.partners import SecretBox, add_partner
from reports.schedule import alert_pass
from reports.transport import SmtpSettings, signature
from reports_support import REVIEWER, confirm, decide

SECRET = "a-long-shared-secret-0123456789"
NOW = datetime(2026, 2, 1, 7, 0, tzinfo=timezone.utc)
VICTIM = "Nadia Karim"
SELLER = "+964 770 123 4567"
MINOR_TEXT = f"Girl for sale, her name is {VICTIM}, 15 years old, price 3000$ call {SELLER}"


def _photo(seed: int) -> Image.Image:
    return sample_photo(random.Random(seed), (640, 480))


def _jpeg(image: Image.Image, quality: int = 50) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture
def receivers():
    controller, mailbox = smtp_server()
    hook = WebhookReceiver(free_port()).start()
    yield SmtpSettings(host="127.0.0.1", port=controller.port, tls="none"), mailbox, hook
    controller.stop()
    hook.stop()


def _world(engine, settings: Settings, hook_url: str, box: SecretBox) -> list[int]:
    """Two lists of two owners (both hold photo 1, under their own references), three listings with photos."""
    photos = [_photo(1), _photo(2)]
    with session_scope(engine) as s:
        add_partner(s, "olga", "Family network", box=box, email="family@ngo.test")
        add_partner(s, "olga", "Rescue hook", box=box, webhook=hook_url, secret=SECRET)
        add_partner(s, "olga", "Bystander", box=box, email="desk@bystander.test")
        family = add_watchlist(s, "olga", "Sinjar families", "Family network")
        rescue = add_watchlist(s, "olga", "Rescue cases", "Rescue hook")
        import_entries(s, "olga", family, [photo_entry(photos[0], "MP-0001"), photo_entry(photos[1], "MP-0002")])
        import_entries(s, "olga", rescue, [photo_entry(photos[0], "RN-0099")])
    ids = store_items(engine, [
        Item(MINOR_TEXT, probability=0.9, signals=[age_signal(MINOR_TEXT, 15)]),  # photo 1: both lists
        Item("new arrivals, ask for prices", probability=0.4),  # photo 2: the family list only
        Item("more new arrivals", probability=0.3),  # photo 2 again, not confirmed yet
    ])
    add_photo(engine, settings.evidence_dir, ids[0], _jpeg(photos[0]), "image/jpeg")
    add_photo(engine, settings.evidence_dir, ids[1], _jpeg(photos[1].rotate(90, expand=True), 60), "image/jpeg")
    add_photo(engine, settings.evidence_dir, ids[2], _jpeg(photos[1], 80), "image/jpeg")
    assert link_pending(engine, settings).watchlist_matches == 4
    for message_id in ids[:2]:
        confirm(engine, message_id)
    return ids


def test_each_owner_hears_of_its_own_matches_only(engine, db_url, tmp_path, receivers):
    smtp, mailbox, hook = receivers
    settings = Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", actor="olga")
    box = SecretBox(tmp_path / "partner.key")
    ids = _world(engine, settings, hook.url, box)

    queued, run = alert_pass(engine, smtp=smtp, actor="olga", box=box, now=NOW)
    assert (queued, len(run.sent), run.failed) == (4, 4, [])  # 3 matches told, the minor to the third partner
    mails = {to: [m for m in mailbox.messages if m["To"] == to] for to in ("family@ngo.test", "desk@bystander.test")}
    family = [json.loads(m.get_payload()[1].get_content()) for m in mails["family@ngo.test"]]
    assert sorted((a["type"], a["watchlist_match"]["reference"], a["items"][0]["message_id"]) for a in family) == [
        ("watchlist", "MP-0001", ids[0]), ("watchlist", "MP-0002", ids[1])]
    [posted] = hook.received
    webhook = json.loads(posted.body)
    assert (webhook["type"], webhook["watchlist_match"]["reference"], webhook["items"][0]["message_id"]) == (
        "watchlist", "RN-0099", ids[0])
    assert posted.headers["x-signature"] == signature(SECRET, posted.headers["x-timestamp"], posted.body)
    match = webhook["watchlist_match"]
    assert match["watchlist"] == "Rescue cases" and 0 <= match["distance"] <= match["max_distance"] == 31
    assert match["variant"].startswith("listing ") and len(match["listing_photo_sha256"]) == 64
    [bystander] = mails["desk@bystander.test"]  # a partner that owns no list gets the minors' usual alert
    assert json.loads(bystander.get_payload()[1].get_content())["type"] == "immediate"

    first_mail = mails["family@ngo.test"][0]
    assert str(first_mail["Subject"]).endswith("1 watchlist match (watchlist)")
    seen = {"family": [m.as_string() for m in mails["family@ngo.test"]], "hook": [posted.body.decode()],
            "bystander": [bystander.as_string()]}
    never = {"family": ["RN-0099", "Rescue cases"], "hook": ["MP-000", "Sinjar families"],
             "bystander": ["MP-000", "RN-0099", "Sinjar families", "Rescue cases", "watchlist_match"]}
    for who, bodies in seen.items():
        for body in bodies:
            assert VICTIM not in body and "Nadia" not in body, who
            assert not [word for word in never[who] if word in body], who
    assert "[name withheld]" in webhook["items"][0]["text"] and SELLER in webhook["items"][0]["text"]
    assert "your reference MP-000" in first_mail.get_body(("plain",)).get_content()

    # told once: the owners are counted as alerted, so no immediate alert or second pass repeats it
    queued, run = alert_pass(engine, smtp=smtp, actor="olga", box=box, now=NOW)
    assert (queued, len(run.sent), len(mailbox.messages), len(hook.received)) == (0, 0, 3, 1)
    with session_scope(engine) as s:
        owners_told = {tuple(row) for row in s.execute(select(AlertedMessage.partner_id, AlertedMessage.message_id))}
        assert len(owners_told) == 4  # family: 2 messages, hook: 1, bystander: 1

    confirm(engine, ids[2])  # the unconfirmed copy never left; once confirmed it goes to its owner only
    queued, run = alert_pass(engine, smtp=smtp, actor="olga", box=box, now=NOW)
    assert (queued, len(run.sent)) == (1, 1)
    last = json.loads(mailbox.messages[-1].get_payload()[1].get_content())
    assert mailbox.messages[-1]["To"] == "family@ngo.test" and last["items"][0]["message_id"] == ids[2]
    assert last["watchlist_match"]["reference"] == "MP-0002"
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(WatchlistMatch)) == 4
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "watchlist")) == 4


def test_a_match_withheld_before_sending_is_told_again_when_confirmed_again(engine, db_url, tmp_path, receivers):
    smtp, mailbox, hook = receivers
    settings = Settings(database_url=db_url, evidence_dir=tmp_path / "evidence", actor="olga")
    box = SecretBox(tmp_path / "partner.key")
    ids = _world(engine, settings, hook.url, box)
    dead = SmtpSettings(host="127.0.0.1", port=free_port(), tls="none")
    hook.stop()
    alert_pass(engine, smtp=dead, actor="olga", box=box, now=NOW)  # queued, nothing reaches anyone
    decide(engine, ids[1], REVIEWER, "reviewer", decision="not_listing", at=datetime(2026, 1, 6, tzinfo=timezone.utc))
    alert_pass(engine, smtp=smtp, actor="olga", box=box, now=NOW.replace(hour=8))
    assert sorted(json.loads(m.get_payload()[1].get_content())["items"][0]["message_id"]
                  for m in mailbox.messages if m["To"] == "family@ngo.test") == [ids[0]]  # ids[1] withheld
    decide(engine, ids[1], REVIEWER, "reviewer", at=datetime(2026, 1, 7, tzinfo=timezone.utc))
    alert_pass(engine, smtp=smtp, actor="olga", box=box, now=NOW.replace(hour=9))
    family = [json.loads(m.get_payload()[1].get_content()) for m in mailbox.messages if m["To"] == "family@ngo.test"]
    assert [(a["items"][0]["message_id"], a["watchlist_match"]["reference"]) for a in family] == [
        (ids[0], "MP-0001"), (ids[1], "MP-0002")]
    with session_scope(engine) as s:
        keys = s.scalars(select(Delivery.key).where(Delivery.kind == "watchlist").order_by(Delivery.id)).all()
        assert len(keys) == 4 and len(set(keys)) == 4 and keys[-1].endswith(":2")
