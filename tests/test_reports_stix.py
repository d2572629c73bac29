"""STIX 2.1 export of a case: a valid bundle (stix2 and the OASIS validator), the TLP 2.0 marking,
the observables, redaction exactly as in the JSON report, message text carried as data."""

from __future__ import annotations

import hashlib
import json

import pytest
import stix2
from click.testing import CliRunner
from sqlalchemy import select
from stix2validator import ValidationOptions, validate_string

from detector.cli import main
from detector.db import open_database, session_scope
from detector.schema import AuditEvent, Entity, EntityMember, Message, Score
from detector.synthetic.sample import HOSTILE_TEXT
from detector.text import analyse
from reports.cases import open_case
from reports.export import export_case
from reports.stix import TLP2_EXTENSION, TLP2_IDS
from reports_support import confirm

LISTING = ("Layla, 15, for sale in Raqqa, price 3000$. contact +964 770 555 0199 or @raqqa_seller "
           "and t.me/raqqa_market. her cousin @layla_cousin knows. "
           "Her family is searching for her: call her mother on +964 750 123 4567")
SDO_TYPES = {"identity", "observed-data", "note", "report"}
SCO_TYPES = {"user-account", "phone-number", "url", "file", "email-addr"}


def _listing(engine, world) -> int:  # type: ignore[no-untyped-def]
    """A confirmed listing with a phone, a username and a link, stored beside a sample message, and
    its Telegram accounts as linked entities (as `detector link` would store them)."""
    with session_scope(engine) as s:
        like = s.get(Message, world.reposts[0])
        analysis = analyse(LISTING)
        message = Message(source_id=like.source_id, external_id="stix-1", export_file_id=like.export_file_id,
                          text=LISTING, raw=LISTING.encode(), raw_sha256=hashlib.sha256(LISTING.encode()).hexdigest(),
                          sender_name="seller", sender_id="user777", language=analysis.language.code,
                          signals=[sig.to_dict() for sig in analysis.signals])
        s.add(message)
        s.flush()
        s.add(Score(message_id=message.id, model_version="fast-test-1", probability=0.9, flagged=True, tier="fast"))
        for key in ("layla_cousin", "raqqa_seller"):
            entity = Entity(kind="telegram", key=key, size=1)
            s.add(entity)
            s.flush()
            s.add(EntityMember(entity_id=entity.id, message_id=message.id))
        mid = message.id
    confirm(engine, mid, tags=("minor",))
    return mid


def _export(world, redact: bool, tlp: str = "AMBER+STRICT", fmt: str = "stix"):  # type: ignore[no-untyped-def]
    """(the export's bytes, the listing's message id) of a case of the listing and two sample messages."""
    engine = open_database(world.url)
    mid = _listing(engine, world)
    with session_scope(engine) as s:
        ref = open_case(s, "tester", [mid, world.hostile, world.reposts[0]], tlp=tlp, summary="Raqqa ring",
                        masked=["Layla", "@layla_cousin"]).ref
    return export_case(engine, ref, fmt, evidence_dir=world.evidence_dir, actor="tester", redact=redact)[1], mid


def _of_type(bundle, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [o for o in bundle.objects if o.type == kind]


def test_a_redacted_stix_bundle_validates_and_withholds_every_masked_value(world):
    data, mid = _export(world, redact=True)
    bundle = stix2.parse(data.decode("utf-8"), allow_custom=False)  # phone-number is declared, nothing else custom
    results = validate_string(data.decode("utf-8"), ValidationOptions(version="2.1"))
    assert results.is_valid, [str(e) for e in results.errors]

    types = {o.type for o in bundle.objects}
    assert types <= SDO_TYPES | SCO_TYPES | {"marking-definition", "extension-definition"}
    assert SDO_TYPES | {"user-account", "phone-number", "url", "file"} <= types
    marking = TLP2_IDS["AMBER+STRICT"]
    tlp = next(o for o in bundle.objects if o.id == marking)
    assert tlp.name == "TLP:AMBER+STRICT" and tlp.extensions[TLP2_EXTENSION]["tlp_2_0"] == "amber+strict"
    for obj in bundle.objects:
        if obj.type not in ("marking-definition", "extension-definition", "identity"):  # shared by every export
            assert obj.object_marking_refs == [marking], obj.id
    installation = _of_type(bundle, "identity")[0]
    assert installation.identity_class == "system"
    assert all(o.created_by_ref == installation.id for o in bundle.objects if o.type in SDO_TYPES - {"identity"})

    assert {p.value for p in _of_type(bundle, "phone-number")} == {"+9647705550199"}  # the seller's, not the mother's
    logins = {a.get("account_login") for a in _of_type(bundle, "user-account")}
    assert "raqqa_seller" in logins and "layla_cousin" not in logins
    assert "https://t.me/raqqa_market" in {u.value for u in _of_type(bundle, "url")}
    text = data.decode("utf-8")
    for hidden in ("Layla", "layla_cousin", "750 123 4567", "9647501234567", "7501234567"):
        assert hidden not in text, hidden
    note = next(n for n in _of_type(bundle, "note") if n.external_references[0].external_id == f"message {mid}")
    assert "[name withheld], 15" in note.content and "[username withheld]" in note.content
    assert "[family phone withheld]" in note.content and "minor" in note.labels
    report = _of_type(bundle, "report")[0]
    assert report.name.startswith("CASE-") and "Raqqa ring" in report.description
    assert set(report.object_refs) >= {o.id for o in bundle.objects if o.type in ("note", "observed-data")}


def test_message_text_is_carried_as_data_not_markup(world):
    data, _ = _export(world, redact=False, tlp="GREEN")
    bundle = stix2.parse(data.decode("utf-8"), allow_custom=False)
    contents = [n.content for n in _of_type(bundle, "note")]
    assert HOSTILE_TEXT in contents  # byte for byte, as a JSON string
    assert b"&lt;" not in data and b"&#" not in data
    assert json.loads(data)["type"] == "bundle"
    assert _of_type(bundle, "marking-definition")[0].id == TLP2_IDS["GREEN"]
    # unredacted, the family phone and the cousin's username are observables: redaction is what removed them
    assert "+9647501234567" in {p.value for p in _of_type(bundle, "phone-number")}
    assert "layla_cousin" in {a.get("account_login") for a in _of_type(bundle, "user-account")}


def test_report_command_writes_stix_and_audits_the_format(world, tmp_path, monkeypatch):
    engine = open_database(world.url)
    with session_scope(engine) as s:
        ref = open_case(s, "tester", [world.reposts[0]], tlp="AMBER").ref
    monkeypatch.chdir(tmp_path)
    env = {"DETECTOR_ACTOR": "tester", "DETECTOR_EVIDENCE_DIR": str(world.evidence_dir)}
    result = CliRunner(env=env).invoke(main, ["report", ref, "--format", "stix", "--db", world.url])
    assert result.exit_code == 0, result.output
    written = tmp_path / f"{ref}.stix.json"
    assert f"Wrote {ref}.stix.json" in result.output
    assert stix2.parse(written.read_text("utf-8"), allow_custom=False).type == "bundle"
    with session_scope(engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "report_export")).one()
        assert event.after["format"] == "stix" and event.after["sha256"] == hashlib.sha256(written.read_bytes()).hexdigest()
    assert "stix" in CliRunner().invoke(main, ["report", "--help"]).output


def test_a_masked_username_never_comes_back_as_a_linked_entity(world):
    data, mid = _export(world, redact=True, fmt="json")
    entry = next(m for m in json.loads(data)["messages"] if m["message_id"] == mid)
    assert sorted(e["key"] for e in entry["links"]["entities"]) == ["[username withheld]", "raqqa_seller"]
    assert b"layla_cousin" not in data and b"Layla" not in data


@pytest.mark.parametrize("tlp", sorted(TLP2_IDS))
def test_every_tlp_level_maps_to_its_oasis_marking(tlp):
    from reports.stix import tlp_marking

    marking = tlp_marking(tlp)
    assert marking.id == TLP2_IDS[tlp] and marking.name == f"TLP:{tlp}"
    assert marking.extensions[TLP2_EXTENSION]["tlp_2_0"] == tlp.lower()
