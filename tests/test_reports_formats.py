"""Report formats: JSON against its schema, CSV injection, escaped HTML, photos, redaction."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from detector.db import open_database, session_scope
from detector.ingest.archive import FolderMedia
from detector.ingest.evidence import EvidenceStore
from detector.ingest.load import ExportInfo, Loader
from detector.ingest.originals import original_bytes
from detector.ingest.records import ChatRecord, MessageRecord
from detector.schema import ExportFile, Media, Message, Score
from reports.cases import add_masks, get_case, open_case, set_translation
from reports.export import export_case
from reports.redact import FAMILY_PHONE_MASK, NAME_MASK
from reports.render import safe_cell
from reports.schema import schema_errors
from reports.verify import verify_report
from reports_support import ANALYST, REVIEWER, T0, confirm

FAMILY_TEXT = ("Layla, 15, for sale in Raqqa, price 3000$. contact +964 770 555 0199. "
               "Her family is searching for her: call her mother on +964 750 123 4567")


def _case(world, ids, **kwargs):
    engine = open_database(world.url)
    with session_scope(engine) as s:
        return engine, open_case(s, "tester", ids, tlp=kwargs.pop("tlp", "AMBER"), **kwargs).ref


def _render(engine, world, ref, fmt, **kwargs):
    return export_case(engine, ref, fmt, evidence_dir=world.evidence_dir, actor="tester", **kwargs)[1]


def _add_confirmed(engine, world, text, sender="seller") -> int:
    """A message stored through the ORM beside a sample message (same channel and export), confirmed."""
    from detector.text import analyse

    with session_scope(engine) as s:
        like = s.get(Message, world.reposts[0])
        analysis = analyse(text)
        message = Message(source_id=like.source_id, external_id=f"x{len(text)}", export_file_id=like.export_file_id,
                          text=text, raw=text.encode(), raw_sha256=hashlib.sha256(text.encode()).hexdigest(),
                          sender_name=sender, language=analysis.language.code,
                          signals=[sig.to_dict() for sig in analysis.signals])
        s.add(message)
        s.flush()
        s.add(Score(message_id=message.id, model_version="fast-test-1", probability=0.9, flagged=True, tier="fast"))
        mid = message.id
    confirm(engine, mid)
    return mid


def test_json_report_follows_the_schema_and_carries_every_field(world):
    engine, ref = _case(world, [*world.reposts, world.persian], summary="One seller")
    report = json.loads(_render(engine, world, ref, "json"))
    assert schema_errors(report) == []
    assert "lead for investigation, not a finding" in report["notice"]
    assert [m["message_id"] for m in report["messages"]] == sorted(
        [*world.reposts, world.persian], key=lambda i: [m["message_id"] for m in report["messages"]].index(i))
    first = next(m for m in report["messages"] if m["message_id"] == world.reposts[0])
    with session_scope(engine) as s:
        message = s.get(Message, world.reposts[0])
        export = s.get(ExportFile, message.export_file_id)
        media = s.scalars(select(Media).where(Media.message_id == message.id)).all()
        stored = (world.evidence_dir / export.stored_path).read_bytes()
        span = stored[message.raw_offset : message.raw_offset + message.raw_length]  # the message's bytes in its export
        assert first["hashes"]["raw_sha256"] == hashlib.sha256(span).hexdigest()
        assert [(v["version"], v["raw_sha256"], v["export_file_id"]) for v in first["versions"]] == [
            (1, first["hashes"]["raw_sha256"], export.id)]  # never edited: version 1 is the message as stored
        assert first["export_file"]["sha256"] == hashlib.sha256(stored).hexdigest() == export.sha256
        assert [p["sha256"] for p in first["photos"]] == [m.sha256 for m in media] and media
        assert (first["channel"]["name"], first["sender"]["name"], first["sent_local"]) == (
            message.source.name, message.sender_name, message.sent_local)
    assert first["direction"] == "rtl" and first["platform"] == "telegram" and first["text"].startswith("للبيع")
    assert first["score"]["model_version"] == "fast-test-1" and first["photos"][0]["shown"] == "blurred"
    assert [(d["user"], d["role"]) for d in first["decisions"]] == [(ANALYST, "analyst"), (REVIEWER, "reviewer")]
    assert first["reviewers"] == [REVIEWER] and "minor" in first["decisions"][0]["tags"]
    events = [(e["action"], e["object"]) for e in report["chain_of_custody"]["events"]]
    assert ("case_open", f"case {ref}") in events and ("report_export", f"case {ref}") in events
    assert schema_errors({**report, "notice": "a finding"}) and schema_errors({k: v for k, v in report.items() if k != "integrity"})


def test_json_report_lists_every_version_of_an_edited_message_and_still_verifies(world, tmp_path):
    """An edit ingested later: the report shows version 1 (the message as first stored) and the edit."""
    engine = open_database(world.url)
    with session_scope(engine) as s:
        m = s.get(Message, world.persian)
        chat = ChatRecord(m.source.platform, m.source.chat_id, m.source.name, m.source.type)
        first = (m.raw_sha256, m.export_file_id)
        store = EvidenceStore(world.evidence_dir)
        raw = original_bytes(store, m) + b" (price changed)"
        edit = MessageRecord(chat=chat, external_id=m.external_id, sent_at=m.sent_at, sent_local=m.sent_local,
                             sender_name=m.sender_name, sender_id=m.sender_id, text=m.text + " (price changed)",
                             raw=raw, offset=len(b"a later export: "), edited_at=T0 + timedelta(days=3))
    blob = store.put_bytes(b"a later export: " + raw, ".txt")
    with engine.begin() as conn:
        result = Loader(conn, store).load(ExportInfo("later.txt", blob.sha256, blob.size, "whatsapp_txt", blob.rel_path),
                                          iter([edit]), FolderMedia(tmp_path / "later.txt", "later.txt"))
    assert result.versions_new == 1
    _, ref = _case(world, [world.persian])
    report = json.loads(_render(engine, world, ref, "json"))
    (entry,) = report["messages"]
    assert [(v["version"], v["raw_sha256"], v["export_file_id"]) for v in entry["versions"]] == [
        (1, *first), (2, hashlib.sha256(edit.raw).hexdigest(), entry["versions"][1]["export_file_id"])]
    assert entry["versions"][1]["export_file_id"] != first[1] and entry["hashes"]["raw_sha256"] == first[0]
    assert entry["text"].endswith("(price changed)") and schema_errors(report) == []
    with session_scope(engine) as s:
        assert verify_report(s, world.evidence_dir, report) == []
    with engine.begin() as conn:  # the edit's span moved: only version 2's bytes no longer match
        conn.execute(text("UPDATE message_version SET raw_offset = raw_offset - 1 WHERE version = 2"))
    with session_scope(engine) as s:
        (problem,) = verify_report(s, world.evidence_dir, report)
    assert f"message {world.persian} " in problem and " version 2 raw bytes: report has " in problem


def test_csv_neutralises_formulas(world):
    engine = open_database(world.url)
    mid = _add_confirmed(engine, world, '=HYPERLINK("http://evil.example","click") sale 20$', sender="@admin")
    engine, ref = _case(world, [mid])
    with session_scope(engine) as s:
        set_translation(s, "tester", get_case(s, ref), mid, "-2+3 translation")
    rows = list(csv.DictReader(io.StringIO(_render(engine, world, ref, "csv").decode("utf-8-sig"))))
    assert rows[0]["text"].startswith("'=HYPERLINK")
    assert rows[0]["sender_name"] == "'@admin" and rows[0]["translation"] == "'-2+3 translation"
    assert [safe_cell(v) for v in ("+1", "@x", "\tA", "plain", None)] == ["'+1", "'@x", "'\tA", "plain", ""]


def test_html_escapes_hostile_text_and_shows_photos_blurred_unless_asked(world):
    engine, ref = _case(world, [world.hostile, world.reposts[0]])
    page = _render(engine, world, ref, "html").decode()
    assert "<script>alert" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "<img src=x" not in page
    assert 'dir="rtl" lang="ar"' in page and "lead for investigation, not a finding" in page
    with session_scope(engine) as s:
        photo = s.scalar(select(Media).where(Media.message_id == world.reposts[0]))
        original = (world.evidence_dir / photo.stored_path).read_bytes()
    shown = [base64.b64decode(u) for u in re.findall(r'src="data:image/[a-z]+;base64,([^"]+)"', page)]
    assert len(shown) == 1 and shown[0] != original  # a blurred copy
    page = _render(engine, world, ref, "html", photos="original").decode()
    assert [base64.b64decode(u) for u in re.findall(r'src="data:image/[a-z]+;base64,([^"]+)"', page)] == [original]
    assert "data:image" not in _render(engine, world, ref, "html", photos="none").decode()


def test_redaction_masks_victims_and_family_but_keeps_the_seller(world):
    engine = open_database(world.url)
    mid = _add_confirmed(engine, world, FAMILY_TEXT)
    engine, ref = _case(world, [mid, world.reposts[0]], masked=["Layla"])
    with session_scope(engine) as s:
        add_masks(s, "tester", get_case(s, ref), ["+964 750 000 1111"])
    report = json.loads(_render(engine, world, ref, "json", redact=True, photos="original"))
    assert schema_errors(report) == []
    text = next(m for m in report["messages"] if m["message_id"] == mid)["text"]
    assert "Layla" not in text and NAME_MASK in text
    assert "+964 750 123 4567" not in text and FAMILY_PHONE_MASK in text
    assert "+964 770 555 0199" in text  # the seller's contact is the lead
    assert report["redaction"]["redacted"] and report["redaction"]["photos"] == "blurred"
    assert "seller's contacts are kept" in report["redaction"]["explanation"]
    signals = next(m for m in report["messages"] if m["message_id"] == mid)["signals"]
    phones = [s["value"] for s in signals if s.get("subtype") == "phone"]
    assert phones == ["+9647705550199", FAMILY_PHONE_MASK]
    page = _render(engine, world, ref, "html", redact=True).decode()
    assert "Redacted report." in page and "Layla" not in page and "4567" not in page
    unredacted = json.loads(_render(engine, world, ref, "json"))
    assert "Layla" in next(m for m in unredacted["messages"] if m["message_id"] == mid)["text"]


@pytest.mark.parametrize("fmt", ["pdf", "xml"])
def test_unknown_or_unconfirmed_never_renders(world, fmt):
    engine, ref = _case(world, [world.reposts[0]])
    from detector.errors import ConfigError

    from reports.cases import NotReferable
    from reports_support import decide

    if fmt == "xml":
        with pytest.raises(ConfigError, match="unknown report format"):
            _render(engine, world, ref, fmt)
        return
    decide(engine, world.reposts[0], REVIEWER, "reviewer", "not_listing", at=T0 + timedelta(days=1))  # changed mind
    with pytest.raises(NotReferable):
        _render(engine, world, ref, fmt)
