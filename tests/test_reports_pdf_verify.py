"""The PDF renders Arabic-script text (pdftoppm, pdftotext); `detector verify` finds any tampering."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from click.testing import CliRunner
from sqlalchemy import select, text

from detector.cli import main
from detector.db import open_database, session_scope
from detector.schema import ExportFile, Media, Message
from detector.synthetic.sample import SAMPLE_DIR
from reports.build import content_sha256, received_name
from reports.render import font_file

REPO_ROOT = Path(__file__).resolve().parents[1]
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")


def _open_case(world, ids) -> str:
    result = CliRunner().invoke(main, ["case", "open", "--messages", ",".join(map(str, ids)), "--tlp", "AMBER",
                                       "--summary", "Same seller", "--db", world.url], env={"DETECTOR_ACTOR": "tester"})
    assert result.exit_code == 0, result.output
    return result.output.split()[1]


def _report(world, ref, fmt, out: Path, *extra: str) -> Path:
    env = {"DETECTOR_EVIDENCE_DIR": str(world.evidence_dir), "DETECTOR_ACTOR": "tester"}
    result = CliRunner().invoke(main, ["report", ref, "--format", fmt, "--out", str(out), "--db", world.url, *extra], env=env)
    assert result.exit_code == 0, result.output
    return out


def _verify(world, path: Path):
    return CliRunner().invoke(main, ["verify", str(path), "--db", world.url, "--evidence", str(world.evidence_dir)])


@needs_poppler
def test_pdf_shapes_arabic_and_persian_and_text_extracts_in_logical_order(world, tmp_path):
    assert font_file("Noto Naskh Arabic").is_file()
    ref = _open_case(world, [*world.reposts, world.persian])
    pdf = _report(world, ref, "pdf", tmp_path / "r.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = tmp_path / "page-1.png"
    assert png.stat().st_size > 20_000
    artifacts = REPO_ROOT / "test-artifacts"
    if artifacts.is_dir():
        shutil.copy(png, artifacts / "report-page1.png")
    extracted = BIDI_CONTROLS.sub("", subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                                                       text=True).stdout)
    assert "lead for investigation, not a finding" in " ".join(extracted.split())
    assert "سبية للبيع عمرها" in extracted  # the Arabic words, in the order they were written
    assert "للبيع سبية" in extracted
    assert "واگذاری کارگر خانگی" in extracted  # Persian
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "Noto-Naskh-Arabic" in fonts  # embedded, so any reader shapes it the same
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "Tagged:          yes" in info  # screen readers and archives get a structure tree
    with Image.open(png) as page:  # the running TLP label sits on black, as TLP 2.0 prescribes
        header = page.convert("RGB").crop((page.width * 2 // 3, 0, page.width, page.height * 16 // 297))
        assert sum(1 for r, g, b in header.get_flattened_data() if r + g + b < 60) > 50


def test_verify_passes_then_names_each_tampering(world, tmp_path):
    ref = _open_case(world, [*world.reposts, world.persian])
    report = _report(world, ref, "json", tmp_path / "r.json")
    ok = _verify(world, report)
    assert ok.exit_code == 0 and "all hashes match (3 message(s)" in ok.output

    engine = open_database(world.url)
    with session_scope(engine) as s:
        export = s.get(ExportFile, s.get(Message, world.persian).export_file_id)
        stored = world.evidence_dir / export.stored_path
    os.chmod(stored, 0o644)
    stored.write_bytes(stored.read_bytes() + b" ")
    with session_scope(engine) as s:
        photo = s.scalar(select(Media).where(Media.message_id == world.reposts[0]))
        photo_path = world.evidence_dir / photo.stored_path
    os.chmod(photo_path, 0o644)
    photo_path.write_bytes(b"not the photo")
    with engine.begin() as conn:
        conn.execute(text("UPDATE message SET text = text || ' edited' WHERE id = :id"), {"id": world.reposts[0]})
        conn.execute(text("UPDATE message SET raw_offset = raw_offset + 1 WHERE id = :id"), {"id": world.reposts[1]})
    bad = _verify(world, report)
    assert bad.exit_code == 1
    lines = [line for line in bad.output.splitlines() if line.startswith("MISMATCH")]
    assert len(lines) == 5, bad.output
    assert f"export file {export.id} ({received_name(export.name)}) stored bytes in the evidence store" in lines[0]
    text_lines = [line for line in lines if line.startswith(f"MISMATCH message {world.reposts[0]} ")]
    raw_line = next(line for line in lines if line.startswith(f"MISMATCH message {world.reposts[1]} "))
    assert " raw bytes: report has " in raw_line
    assert text_lines[0].endswith(' 0199", database has "للبيع سبية ١٦ سنة بسعر ٤٢٠٠$ التسليم في الموصل واتساب +964 770 555 0199 edited"')
    assert " text: report has " in text_lines[1] and len(text_lines) == 3  # the text, its hash, the photo
    assert any(f"photo {photo.id} stored bytes in the evidence store" in line for line in lines)

    edited = json.loads(report.read_text())
    edited["case"]["summary"] = "changed"
    report.write_text(json.dumps(edited))
    assert "its content changed after it was written" in _verify(world, report).output


def test_verify_refuses_a_file_that_is_not_a_report(world, tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    result = _verify(world, junk)
    assert result.exit_code == 1 and f"Error: {junk}: does not follow the report schema" in result.output
    junk.write_text("not json")
    assert "not a readable JSON report" in _verify(world, junk).output


def _tampered(report: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the report edited by `edit`, its unkeyed content hash recomputed as a forger would."""
    data = json.loads(report.read_text(encoding="utf-8"))
    edit(data)
    data["integrity"]["content_sha256"] = content_sha256(data)
    out = report.with_name(f"tampered-{edit.__name__}.json")
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def test_each_forgery_with_a_recomputed_hash_fails_verify(world, tmp_path):
    ref = _open_case(world, [*world.reposts, world.persian])
    report = _report(world, ref, "json", tmp_path / "r.json")
    first = json.loads(report.read_text())["messages"][0]

    def price(r):  # type: ignore[no-untyped-def]
        r["messages"][0]["text"] = r["messages"][0]["text"].replace("٤٥٠٠", "٤٠٠")

    def sender(r):  # type: ignore[no-untyped-def]
        r["messages"][0]["sender"]["name"] = "Someone Else"

    def sent_utc(r):  # type: ignore[no-untyped-def]
        r["messages"][0]["sent_utc"] = "2020-01-01T00:00:00Z"

    def tlp(r):  # type: ignore[no-untyped-def]
        r["case"]["tlp"] = "CLEAR"

    def delete(r):  # type: ignore[no-untyped-def]
        del r["messages"][0]

    name = f"message {first['message_id']} "
    expected = {price: [[name, ' text: report has "سبية للبيع عمرها ١٦ سنة السعر ٤٠٠ دولار'], [name, " text: its SHA-256 is "]],
                sender: [[name, ' sender: report has {"id": ', '"name": "Someone Else"}, database has']],
                sent_utc: [[name, ' sent_utc: report has "2020-01-01T00:00:00Z", database has "']],
                tlp: [[f"case {ref} TLP: report has CLEAR, now AMBER"]],
                delete: [[f"case {ref}: message(s) {first['message_id']} of the case are missing from the report"]]}
    assert "٤٥٠٠" in first["text"]
    for edit, wanted in expected.items():
        result = _verify(world, _tampered(report, edit))
        assert result.exit_code == 1, (edit.__name__, result.output)
        lines = [line for line in result.output.splitlines() if line.startswith("MISMATCH ")]
        for parts in wanted:
            assert any(all(p in line for p in parts) for line in lines), (edit.__name__, parts, result.output)
        assert any("is not one this installation exported" in line for line in lines), result.output
        assert not any("content changed after it was written" in line for line in lines)  # the forger recomputed it


def test_a_report_of_an_older_format_gets_one_clear_line(world, tmp_path):
    ref = _open_case(world, [world.persian])
    report = _report(world, ref, "json", tmp_path / "r.json")
    older = json.loads(report.read_text())
    older["format"] = "detector-referral-report/1"
    report.write_text(json.dumps(older))
    result = _verify(world, report)
    assert result.exit_code == 1
    assert result.output == (f"Error: {report}: report format detector-referral-report/1 was written by another "
                              "version of the detector; this one verifies detector-referral-report/2\n")


def test_no_report_format_names_a_server_path(world, tmp_path):
    ref = _open_case(world, [*world.reposts, world.persian])
    server_folder = str(SAMPLE_DIR.parent)
    for fmt in ("html", "json", "csv"):
        text_ = _report(world, ref, fmt, tmp_path / f"r.{fmt}").read_text(encoding="utf-8-sig")
        assert server_folder not in text_ and str(world.evidence_dir) not in text_, fmt
        assert "WhatsApp Chat - Gulf Transfers.zip/_chat.txt" in text_ and "result.json" in text_, fmt


def test_html_hash_cells_hold_only_the_hash_so_sentences_wrap_at_words(world, tmp_path):
    ref = _open_case(world, [world.persian])
    html = _report(world, ref, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    hashes = re.findall(r'class="hash">([^<]*)<', html)
    assert len(hashes) >= 4
    assert all(re.fullmatch(r"(SHA256:)?[0-9a-f]{64}|—", h) for h in hashes), hashes  # break-all only on hex
    assert "(canonical JSON without this field; check with" in html
