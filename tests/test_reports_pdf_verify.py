"""The PDF renders Arabic-script text (pdftoppm, pdftotext); `detector verify` finds any tampering."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from detector.cli import main
from detector.db import open_database, session_scope
from detector.schema import ExportFile, Media, Message
from reports.render import font_file

REPO_ROOT = Path(__file__).resolve().parents[1]
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")


def _open_case(world, ids) -> str:
    result = CliRunner().invoke(main, ["case", "open", "--messages", ",".join(map(str, ids)), "--tlp", "AMBER",
                                       "--summary", "Same seller", "--db", world.url])
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
    assert len(lines) == 4, bad.output
    assert f"export file {export.id} ({export.name}) stored bytes in the evidence store" in lines[0]
    text_line = next(line for line in lines if line.startswith(f"MISMATCH message {world.reposts[0]} "))
    raw_line = next(line for line in lines if line.startswith(f"MISMATCH message {world.reposts[1]} "))
    assert " text: report has " in text_line and " raw bytes: report has " in raw_line
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
