"""Verify a signed referral bundle: what `sha256sum -c` and `openssl pkeyutl -verify` check, and more.

`check_bundle` returns one verdict line per problem (empty: the bundle is intact, signed by this
installation's key, and every fact and hash in it matches the database and the evidence store):
a file changed, missing or added; a signature that fails or was made by another key; a report of
another format version; a PDF whose embedded JSON or a CSV that differs from the JSON; an original
whose bytes differ from the hash the report gives; and everything `verify.verify_report` finds.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from detector.errors import DetectorError, InputError
from detector.hashing import sha256_bytes

from .bundle import MANIFEST, PUBLIC_KEY, SIGNATURE
from .keys import fingerprint, read_public_pem, signature_valid
from .render import to_csv
from .verify import parse_report, verify_report

MANIFEST_LINE = re.compile(r"^([0-9a-f]{64})  (\S(?:.*\S)?)$")
EVIDENCE_NAME = re.compile(r"^evidence/(messages|photos)/(\d+)(?:-v(\d+))?[.-]")


def read_bundle(path: Path) -> dict[str, bytes]:
    """The files of a bundle zip, by their path inside its one top folder; InputError otherwise."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InputError(path, f"not a readable zip bundle ({exc})") from exc
    roots = {name.split("/", 1)[0] for name in entries}
    if len(roots) != 1 or any("/" not in name for name in entries):
        raise InputError(path, "not a referral bundle: its files must sit in one folder named after the case")
    return {name.split("/", 1)[1]: data for name, data in entries.items()}


def parse_manifest(data: bytes) -> tuple[dict[str, str], list[str]]:
    """(name -> SHA-256, problems) from `sha256sum` output."""
    listed: dict[str, str] = {}
    problems = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        match = MANIFEST_LINE.match(line)
        if match is None:
            problems.append(f"{MANIFEST} line {number}: not a `sha256sum` line")
        else:
            listed[match[2]] = match[1]
    return listed, problems


def check_files(files: dict[str, bytes]) -> list[str]:
    """The manifest against the files: changed, missing and unlisted ones."""
    if MANIFEST not in files:
        return [f"{MANIFEST}: missing from the bundle; nothing in it can be checked"]
    listed, problems = parse_manifest(files[MANIFEST])
    for name, expected in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in {MANIFEST} but missing from the bundle")
        elif sha256_bytes(files[name]) != expected:
            problems.append(f"{name}: changed (SHA-256 {sha256_bytes(files[name])}, {MANIFEST} says {expected})")
    problems += [f"{name}: in the bundle but not listed in {MANIFEST}"
                 for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE})]
    return problems


def check_signature(files: dict[str, bytes], installation_key: Ed25519PublicKey) -> tuple[str | None, list[str]]:
    """(the bundle key's fingerprint, problems): the signature over the manifest and whose key made it."""
    missing = [f"{name}: missing from the bundle" for name in (SIGNATURE, PUBLIC_KEY) if name not in files]
    if missing or MANIFEST not in files:  # a missing manifest is reported by `check_files`
        return None, missing
    try:
        key = read_public_pem(files[PUBLIC_KEY], PUBLIC_KEY)
    except InputError as exc:
        return None, [str(exc)]
    problems = []
    if not signature_valid(key, files[SIGNATURE], files[MANIFEST]):
        problems.append(f"{SIGNATURE}: not a valid Ed25519 signature of {MANIFEST} by {PUBLIC_KEY}")
    if fingerprint(key) != fingerprint(installation_key):
        problems.append(f"{PUBLIC_KEY}: signed by key {fingerprint(key)}, not this installation's key "
                        f"{fingerprint(installation_key)}")
    return fingerprint(key), problems


def _pdf_attachment(pdf: bytes, name: str) -> bytes | None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        found = PdfReader(io.BytesIO(pdf)).attachments.get(name) or []
    except (PyPdfError, ValueError, KeyError) as exc:
        raise InputError(name, f"the PDF cannot be read ({exc})") from exc
    return found[0] if found else None


def check_renderings(files: dict[str, bytes], report: dict[str, Any], ref: str) -> list[str]:
    """The PDF's embedded JSON and the CSV against the bundle's JSON report."""
    problems = []
    pdf_name = f"{ref}.pdf"
    if pdf_name in files:
        try:
            embedded = _pdf_attachment(files[pdf_name], f"{ref}.json")
        except InputError as exc:
            embedded, problems = None, [f"{pdf_name}: {exc.problem}"]
        if embedded != files[f"{ref}.json"] and not problems:
            problems.append(f"{pdf_name}: its embedded {ref}.json differs from the bundle's {ref}.json")
    if files.get(f"{ref}.csv") != to_csv(report):
        problems.append(f"{ref}.csv: differs from the rows of {ref}.json")
    return problems


def check_originals(files: dict[str, bytes], report: dict[str, Any]) -> list[str]:
    """Each original in evidence/ against the hash the report gives it."""
    expected: dict[tuple[str, int, int | None], str | None] = {}
    for m in report["messages"]:
        for v in m["versions"]:
            expected[("messages", m["message_id"], v["version"])] = v["raw_sha256"]
        for p in m["photos"]:
            expected[("photos", p["media_id"], None)] = None if report["redaction"]["redacted"] else p["sha256"]
    problems = []
    for name, data in sorted(files.items()):
        match = EVIDENCE_NAME.match(name)
        if not name.startswith("evidence/"):
            continue
        key = (match[1], int(match[2]), int(match[3]) if match[3] else None) if match else None
        if key not in expected:
            problems.append(f"{name}: an original the report does not cite")
        elif expected[key] is not None and sha256_bytes(data) != expected[key]:
            problems.append(f"{name}: its SHA-256 {sha256_bytes(data)} is not the report's {expected[key]}")
    return problems


def check_bundle(session: Session, evidence_dir: Path, files: dict[str, bytes],
                 installation_key: Ed25519PublicKey) -> tuple[dict[str, Any] | None, list[str]]:
    """(the bundle's report when readable, every problem found)."""
    problems = check_files(files)
    bundle_key, signature_problems = check_signature(files, installation_key)
    problems += signature_problems
    reports = [name for name in files if name.endswith(".json") and "/" not in name]
    if len(reports) != 1:
        return None, [*problems, f"the bundle holds {len(reports)} JSON reports at its top, not one"]
    name = reports[0]
    try:
        report = parse_report(files[name], name)
    except DetectorError as exc:
        return None, [*problems, str(exc)]
    ref = report["case"]["ref"]
    if name != f"{ref}.json":
        problems.append(f"{name}: the report of {ref} under another name")
    if bundle_key is not None and report["generated"]["signing_key"] != bundle_key:
        problems.append(f"{name}: names signing key {report['generated']['signing_key']}, "
                        f"but the bundle is signed with {bundle_key}")
    problems += check_renderings(files, report, ref)
    problems += check_originals(files, report)
    problems += verify_report(session, evidence_dir, report, files[name])
    return report, problems
