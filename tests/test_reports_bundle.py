"""Signed referral bundles: checked by `sha256sum -c` and `openssl` alone, and by `detector verify`."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader
from sqlalchemy import select

from detector.cli import main
from detector.db import open_database, session_scope
from detector.hashing import sha256_bytes
from detector.schema import AuditEvent, Media
from reports.bundle import MANIFEST, SIGNATURE, manifest_bytes
from reports.keys import public_pem

pytestmark = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("sha256sum")),
                                reason="needs openssl and sha256sum")
VERIFIED = "Signature Verified Successfully"


def _run(world, key_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {"DETECTOR_EVIDENCE_DIR": str(world.evidence_dir), "DETECTOR_ACTOR": "tester",
           "DETECTOR_KEY_DIR": str(key_dir), "DETECTOR_DATABASE_URL": world.url}
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def keyed(world, tmp_path):  # type: ignore[no-untyped-def]
    """The sample world with a signing key and a case of three confirmed messages (with photos)."""
    key_dir = tmp_path / "keys"
    assert _run(world, key_dir, "keys", "init").exit_code == 0
    opened = _run(world, key_dir, "case", "open", "--messages", ",".join(map(str, [*world.reposts, world.persian])),
                  "--tlp", "AMBER", "--summary", "Same seller")
    assert opened.exit_code == 0, opened.output
    return world, key_dir, opened.output.split()[1]


def _bundle(keyed, out: Path, *extra: str) -> Path:  # type: ignore[no-untyped-def]
    world, key_dir, ref = keyed
    result = _run(world, key_dir, "report", ref, "--bundle", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


def _unzip(bundle: Path, folder: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    (root,) = folder.iterdir()
    return root


def _rezip(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return out


def _standard_checks(folder: Path) -> tuple[bool, bool]:
    """(sha256sum -c passes, openssl pkeyutl -verify passes), exactly as VERIFY.txt tells a partner."""
    sums = subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST], cwd=folder, capture_output=True, text=True)
    ssl = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", MANIFEST,
                          "-sigfile", SIGNATURE], cwd=folder, capture_output=True, text=True)
    return sums.returncode == 0, ssl.returncode == 0 and VERIFIED in ssl.stdout


def _verify(keyed, path: Path):  # type: ignore[no-untyped-def]
    world, key_dir, _ = keyed
    return _run(world, key_dir, "verify", str(path), "--evidence", str(world.evidence_dir))


def test_keys_are_made_once_private_0600_and_shown_with_a_fingerprint_openssl_agrees_with(world, tmp_path):
    key_dir = tmp_path / "keys"
    missing = _run(world, key_dir, "keys", "show")
    assert missing.exit_code == 1 and "no signing key; run `detector keys init`" in missing.output
    assert _run(world, key_dir, "keys", "init").exit_code == 0
    assert stat.S_IMODE((key_dir / "signing-key.pem").stat().st_mode) == 0o600
    again = _run(world, key_dir, "keys", "init")
    assert again.exit_code == 1 and "a signing key exists already" in again.output
    shown = _run(world, key_dir, "keys", "show").output
    assert shown.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in shown
    pem = shown[:shown.index("-----END PUBLIC KEY-----") + 25].encode()
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True, check=True)
    assert f"Fingerprint: SHA256:{sha256_bytes(der.stdout)}" in shown
    os.chmod(key_dir / "signing-key.pem", 0o644)
    loose = _run(world, key_dir, "keys", "show")
    assert loose.exit_code == 1 and "readable by other users" in loose.output


def test_standard_tools_pass_a_bundle_and_fail_it_after_any_byte_flipped(keyed, tmp_path):
    world, key_dir, ref = keyed
    bundle = _bundle(keyed, tmp_path / "b.zip")
    root = _unzip(bundle, tmp_path / "clean")
    assert _standard_checks(root) == (True, True)
    ok = _verify(keyed, bundle)
    assert ok.exit_code == 0 and "all hashes match (13 files, signature by this installation's key" in ok.output
    verify_txt = (root / "VERIFY.txt").read_text()
    assert f"sha256sum -c {MANIFEST}" in verify_txt
    assert f"openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in {MANIFEST} -sigfile {SIGNATURE}" in verify_txt

    kinds = {"pdf": f"{ref}.pdf", "json": f"{ref}.json", "csv": f"{ref}.csv", "key": "key.pem",
             "instructions": "VERIFY.txt", "manifest": MANIFEST, "signature": SIGNATURE,
             "message span": next(p.relative_to(root).as_posix() for p in (root / "evidence/messages").iterdir()),
             "photo": next(p.relative_to(root).as_posix() for p in (root / "evidence/photos").iterdir())}
    for kind, name in kinds.items():
        copy = tmp_path / kind.replace(" ", "_") / ref
        shutil.copytree(root, copy)
        data = bytearray((copy / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / name).write_bytes(bytes(data))
        sums_ok, ssl_ok = _standard_checks(copy)
        assert not (sums_ok and ssl_ok), kind  # the recipe of VERIFY.txt fails for every kind of file
        assert sums_ok == (name == SIGNATURE), kind  # the signature is the one file the manifest cannot list
        assert ssl_ok == (name not in (MANIFEST, SIGNATURE, "key.pem")), kind  # it signs the manifest only
        bad = _verify(keyed, _rezip(copy, tmp_path / f"{kind}.zip"))
        assert bad.exit_code == 1 and "MISMATCH " in bad.output, kind


def test_the_bundle_carries_a_tagged_pdf_with_the_json_embedded_and_names_its_key(keyed, tmp_path):
    world, key_dir, ref = keyed
    root = _unzip(_bundle(keyed, tmp_path / "b.zip"), tmp_path / "x")
    fingerprint = _run(world, key_dir, "keys", "show").output.split("Fingerprint: ")[1].split()[0]
    report = json.loads((root / f"{ref}.json").read_text())
    assert report["generated"]["signing_key"] == fingerprint
    pdf = (root / f"{ref}.pdf").read_bytes()
    assert PdfReader(io.BytesIO(pdf)).attachments[f"{ref}.json"] == [(root / f"{ref}.json").read_bytes()]
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(root / f"{ref}.pdf")], capture_output=True, text=True, check=True).stdout
        assert "Tagged:          yes" in info
        text = subprocess.run(["pdftotext", str(root / f"{ref}.pdf"), "-"], capture_output=True, text=True).stdout
        assert fingerprint in "".join(text.split())
    for message in report["messages"]:
        for version in message["versions"]:
            (span,) = (root / "evidence/messages").glob(f"{message['message_id']}-v{version['version']}.*")
            assert sha256_bytes(span.read_bytes()) == version["raw_sha256"]
    with session_scope(open_database(world.url)) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "report_export")).one()
        assert event.after["sha256"] == sha256_bytes((tmp_path / "b.zip").read_bytes())
        assert event.after["files"][f"{ref}.pdf"] == sha256_bytes(pdf) and event.after["signing_key"] == fingerprint


def test_a_redacted_bundle_holds_blurred_photos_and_no_original_messages(keyed, tmp_path):
    bundle = _bundle(keyed, tmp_path / "r.zip", "--redact")
    root = _unzip(bundle, tmp_path / "x")
    assert not (root / "evidence/messages").exists()
    photos = list((root / "evidence/photos").iterdir())
    assert photos and all(p.name.endswith("-blurred.jpg") for p in photos)
    assert _standard_checks(root) == (True, True)
    assert _verify(keyed, bundle).exit_code == 0


def _forge(root: Path, key: Ed25519PrivateKey) -> None:
    """What a forger with their own key does: new key.pem, manifest recomputed, signed."""
    (root / "key.pem").write_bytes(public_pem(key.public_key()))
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
             if p.is_file() and p.name not in (MANIFEST, SIGNATURE)}
    (root / MANIFEST).write_bytes(manifest_bytes(files))
    (root / SIGNATURE).write_bytes(key.sign((root / MANIFEST).read_bytes()))


def test_verify_gives_one_line_per_problem_another_key_a_missing_file_an_older_report(keyed, tmp_path):
    world, key_dir, ref = keyed
    root = _unzip(_bundle(keyed, tmp_path / "b.zip"), tmp_path / "x")

    other = tmp_path / "other" / ref
    shutil.copytree(root, other)
    json_path = other / f"{ref}.json"
    json_path.write_text(json_path.read_text().replace("Same seller", "Another seller"))
    _forge(other, Ed25519PrivateKey.generate())
    assert _standard_checks(other) == (True, True)  # self-consistent: only the key's fingerprint tells
    forged = _verify(keyed, _rezip(other, tmp_path / "other.zip"))
    assert forged.exit_code == 1
    assert "MISMATCH key.pem: signed by key SHA256:" in forged.output and "not this installation's key" in forged.output
    assert f"MISMATCH {ref}.pdf: its embedded {ref}.json differs from the bundle's {ref}.json" in forged.output

    gone = tmp_path / "gone" / ref
    shutil.copytree(root, gone)
    photo = next((gone / "evidence/photos").iterdir())
    photo.unlink()
    missing = _verify(keyed, _rezip(gone, tmp_path / "gone.zip"))
    assert missing.exit_code == 1
    assert missing.output.splitlines()[0] == (f"MISMATCH evidence/photos/{photo.name}: listed in {MANIFEST} "
                                              "but missing from the bundle")

    old = tmp_path / "old" / ref
    shutil.copytree(root, old)
    report = json.loads((old / f"{ref}.json").read_text())
    report["format"] = "detector-referral-report/1"
    (old / f"{ref}.json").write_text(json.dumps(report))
    older = _verify(keyed, _rezip(old, tmp_path / "old.zip"))
    assert older.exit_code == 1
    assert (f"MISMATCH {ref}.json: report format detector-referral-report/1 was written by another version of the "
            "detector; this one verifies detector-referral-report/2") in older.output.splitlines()
    assert "Traceback" not in older.output


def test_a_case_whose_evidence_is_missing_cannot_be_bundled(keyed, tmp_path):
    world, key_dir, ref = keyed
    with session_scope(open_database(world.url)) as s:
        photo = s.scalar(select(Media).where(Media.message_id == world.reposts[0], Media.status == "stored"))
        (world.evidence_dir / photo.stored_path).unlink()
    result = _run(world, key_dir, "report", ref, "--bundle", str(tmp_path / "b.zip"))
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith(f"Error: message {world.reposts[0]} (telegram #")
    assert f"photo {photo.id} is missing from the evidence store" in result.output
    assert not (tmp_path / "b.zip").exists()
    with session_scope(open_database(world.url)) as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "report_export")) is None
