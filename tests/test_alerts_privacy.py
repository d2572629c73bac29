"""Victims' names never leave in an alert: named victims in the six languages reach a real SMTP
server (aiosmtpd) and a real HTTPS receiver with every name masked, the seller's contact kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from alert_receivers import WebhookReceiver, free_port, self_signed_cert, smtp_server
from detector.db import open_database, session_scope
from detector.ingest.run import ingest_paths
from detector.schema import Message
from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import write_telegram_json
from detector.text.names import find_names
from reports.cases import open_case
from reports.partners import SecretBox, add_partner
from reports.redact import NAME_MASK
from reports.schedule import alert_pass
from reports.transport import SmtpSettings
from reports_support import confirm

SECRET = "a-long-shared-secret-0123456789"
NOW = datetime(2026, 2, 1, 7, 0, tzinfo=timezone.utc)
SELLER = "+964 770 123 4567"
NAMED = {  # language: (listing, the victim's name in it)
    "en": (f"Girl for sale, her name is Nadia Karim, 14 years old, price 3000$ call {SELLER}", "Nadia Karim"),
    "ar": ("بنت للبيع اسمها نور خليل، عمرها 14 سنة، السعر 2000 دولار", "نور خليل"),
    "kmr": ("Keçik ji bo firotanê, navê wê Leyla ye, 14 salî ye, buha 1500 dolar", "Leyla"),
    "ckb": ("کچ بۆ فرۆشتن، ناوی شیلان، تەمەنی 14 ساڵە، نرخ 1500 دۆلار", "شیلان"),
    "fa": ("دختر برای فروش، اسمش مریم است، ۱۴ ساله، قیمت ۲۰۰۰ دلار", "مریم"),
    "tr": ("Satılık kız, adı Ayşe, 14 yaşında, fiyat 2000 dolar. Annesi Fatma çok üzgün.", "Ayşe"),
}
ANALYST_MASK = "Fatma"  # no cue before it: only the analyst's mask on the case hides it


@pytest.mark.parametrize("lang", sorted(NAMED))
def test_the_text_layer_finds_the_name_after_its_cue(lang):
    text, name = NAMED[lang]
    assert [n.text for n in find_names(text)] == [name]


@pytest.mark.parametrize("text", ["Kitten for sale, 3 months old", "اسمها", "her name is 14 years old",
                                  "Adı: , fiyat 500"])
def test_no_name_without_a_cue_or_after_an_empty_one(text):
    assert find_names(text) == []


def add_named_listings(world, tmp_path) -> dict[str, int]:
    """The six listings ingested through the real store and confirmed (minor) by an analyst and a reviewer."""
    export = tmp_path / "named.json"
    messages = [SynthMessage(text, "Seller", "user77", NOW - timedelta(days=2, minutes=i))
                for i, (text, _) in enumerate(NAMED.values())]
    with export.open("wb") as stream:
        write_telegram_json(stream, "Named market", 4242, messages)
    engine = open_database(world.url)
    assert ingest_paths(engine, world.settings, [export]).errors == []
    with session_scope(engine) as s:
        ids = {lang: s.scalar(select(Message.id).where(Message.text == text)) for lang, (text, _) in NAMED.items()}
    for mid in ids.values():
        confirm(engine, mid, tags=("minor",))
    return ids


def test_named_victims_reach_mail_and_https_receivers_masked(world, tmp_path, monkeypatch):
    ids = add_named_listings(world, tmp_path)
    engine = open_database(world.url)
    box = SecretBox.for_settings(world.settings)
    with session_scope(engine) as s:
        ref = open_case(s, "olga", [ids["tr"]], tlp="GREEN", masked=[ANALYST_MASK]).ref
        add_partner(s, "olga", "NGO mail", box=box, email="desk@ngo.test", secret=SECRET)
    cert = self_signed_cert(tmp_path)
    monkeypatch.setenv("DETECTOR_CA_BUNDLE", str(cert[0]))
    receiver = WebhookReceiver(free_port(), cert).start()
    controller, mailbox = smtp_server()
    try:
        with session_scope(engine) as s:
            add_partner(s, "olga", "Unit hook", box=box, webhook=receiver.url, secret=SECRET)
        smtp = SmtpSettings(host="127.0.0.1", port=controller.port, tls="none")
        queued, run = alert_pass(engine, smtp=smtp, actor="olga", box=box, now=NOW)
    finally:
        controller.stop()
        receiver.stop()
    assert (queued, len(run.sent)) == (2, 2)  # one immediate alert per partner listing every minor
    [mail] = mailbox.messages
    [posted] = receiver.received
    received = {
        "mail text": mail.get_body(("plain",)).get_content(),
        "mail subject": str(mail["Subject"]),
        "mail attachment": json.dumps(mailbox.alerts()[0], ensure_ascii=False),
        "webhook body": posted.body.decode("utf-8"),
    }
    for where, content in received.items():
        for lang, (_, name) in NAMED.items():
            assert name not in content, f"{lang} victim's name {name!r} leaked in the {where}"
        assert ANALYST_MASK not in content, f"the analyst's masked name leaked in the {where}"
    webhook = json.loads(posted.body)
    items = {item["message_id"]: item for item in webhook["items"]}
    assert set(ids.values()) <= set(items)
    for lang, mid in ids.items():
        assert NAME_MASK in items[mid]["text"], lang
    assert SELLER in items[ids["en"]]["text"]  # the seller's contact is the lead: kept
    assert items[ids["tr"]]["cases"] == [ref] and items[ids["tr"]]["tlp"] == "GREEN"
    assert items[ids["ar"]]["cases"] == [] and items[ids["ar"]]["tlp"] == "AMBER"
    assert webhook["tlp"] == "AMBER" and webhook["cases"] == [ref]  # the strictest item's TLP; every case named
