"""Cases: only messages confirmed by an analyst and a reviewer can be referred."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from detector.cli import main
from detector.db import session_scope
from detector.errors import ConfigError, NotFoundError
from detector.schema import AuditEvent, Message, Score, Source, ExportFile
from reports.cases import NotReferable, get_case, open_case
from reports_support import decide


def _store_message(engine, text: str) -> int:
    with session_scope(engine) as s:
        export = ExportFile(sha256="e" * 64, name="x.json", size=1, format="telegram_json", stored_path="ee/x")
        source = Source(platform="telegram", chat_id="c1", name="Market")
        message = Message(source=source, external_id="1", export_file=export, text=text, raw=text.encode(),
                          raw_sha256="0" * 64)
        s.add(message)
        s.flush()
        s.add(Score(message_id=message.id, model_version="m1", probability=0.9, flagged=True, tier="fast"))
        return message.id


def test_only_confirmed_and_reviewed_messages_open_a_case(engine):
    mid = _store_message(engine, "for sale, 16 years")
    with session_scope(engine) as s, pytest.raises(NotReferable, match=f"message {mid} is not confirmed"):
        open_case(s, "tester", [mid], tlp="AMBER")
    decide(engine, mid, "amira", "analyst")  # an analyst alone is not enough
    with session_scope(engine) as s, pytest.raises(NotReferable):
        open_case(s, "tester", [mid], tlp="AMBER")
    decide(engine, mid, "rustam", "reviewer")
    with session_scope(engine) as s:
        case = open_case(s, "tester", [mid], tlp="amber+strict", summary=" one seller ")
        assert (case.ref[:10], case.tlp, case.summary) == ("CASE-" + str(case.created_at.year) + "-", "AMBER+STRICT", "one seller")
        second = open_case(s, "tester", [mid], tlp="RED")
        assert int(second.ref[-4:]) == int(case.ref[-4:]) + 1
    with session_scope(engine) as s:
        assert [m.message_id for m in get_case(s, case.ref).messages] == [mid]
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.object_id == case.ref)) == "case_open"
        with pytest.raises(ConfigError, match="unknown TLP"):
            open_case(s, "tester", [mid], tlp="PURPLE")
        with pytest.raises(NotFoundError, match="no message with id 999"):
            open_case(s, "tester", [mid, 999], tlp="RED")


def test_cli_case_open_list_and_refusal(world):
    runner = CliRunner(env={"DETECTOR_ACTOR": "tester"})  # the operator the audit events name
    db = ["--db", world.url]
    refused = runner.invoke(main, ["case", "open", "--messages", f"{world.reposts[0]},{world.unconfirmed}", "--tlp", "RED", *db])
    assert refused.exit_code == 1
    assert f"Error: message {world.unconfirmed} is not confirmed by an analyst and a reviewer" in refused.output
    opened = runner.invoke(main, ["case", "open", "--messages", ",".join(map(str, world.reposts)), "--tlp", "amber",
                                  "--summary", "Same listing in two channels", *db])
    assert opened.exit_code == 0 and "Opened CASE-" in opened.output and "2 message(s)" in opened.output
    listed = runner.invoke(main, ["case", "list", *db]).output
    assert "TLP:AMBER" in listed and f"messages {world.reposts[0]},{world.reposts[1]}" in listed
    both = runner.invoke(main, ["case", "open", "--messages", "1", "--entity", "2", "--tlp", "RED", *db])
    assert both.exit_code == 1 and "exactly one of --messages, --cluster or --entity" in both.output


def test_case_from_a_cluster_takes_its_confirmed_members(world):
    from detector.db import open_database

    link = pytest.importorskip("detector.link.run")
    engine = open_database(world.url)
    link.link_pending(engine, world.settings)
    with session_scope(engine) as s:
        from detector.schema import ClusterMember

        cluster_id = s.scalar(select(ClusterMember.cluster_id).where(ClusterMember.message_id == world.reposts[0]))
    runner = CliRunner(env={"DETECTOR_ACTOR": "tester"})  # the operator the audit events name
    result = runner.invoke(main, ["case", "open", "--cluster", str(cluster_id), "--tlp", "RED", "--db", world.url])
    assert result.exit_code == 0, result.output
    with session_scope(engine) as s:
        case = get_case(s, result.output.split()[1])
        assert case.cluster_id == cluster_id
        assert [m.message_id for m in case.messages] == world.reposts


def test_cli_translation_and_masks_reach_the_report(world, tmp_path):
    runner = CliRunner(env={"DETECTOR_ACTOR": "tester"})  # the operator the audit events name
    db = ["--db", world.url]
    ref = runner.invoke(main, ["case", "open", "--messages", str(world.reposts[0]), "--tlp", "GREEN", *db]).output.split()[1]
    said = runner.invoke(main, ["case", "translate", ref, str(world.reposts[0]), "Captive for sale, 16, call +964 770 555 0199", *db])
    assert said.exit_code == 0, said.output
    assert runner.invoke(main, ["case", "mask", ref, "+964 770 555 0199", *db]).exit_code == 0
    missing = runner.invoke(main, ["case", "translate", ref, str(world.persian), "x", *db])
    assert missing.exit_code == 1 and f"message {world.persian} is not in case {ref}" in missing.output
    out = tmp_path / "r.json"
    env = {"DETECTOR_EVIDENCE_DIR": str(world.evidence_dir)}
    assert runner.invoke(main, ["report", ref, "--format", "json", "--redact", "--out", str(out), *db], env=env).exit_code == 0
    import json

    message = json.loads(out.read_text())["messages"][0]
    assert message["translation"] == "Captive for sale, 16, call [phone withheld]"
    assert "555 0199" not in message["text"]  # marked by the analyst as a family contact
