"""Signed referral bundles: one zip a partner checks with `sha256sum` and `openssl` alone.

A bundle is a folder `<REF>/` in a zip: the report as tagged PDF/A-3a (the JSON embedded), JSON and
CSV; the original bytes the case cites (each message version's span of its export, each stored
photo; a redacted bundle carries blurred photos and no originals); `key.pem` (the installation's
public key); `VERIFY.txt`; `MANIFEST.sha256` (`sha256sum` format, every file above) and
`MANIFEST.sha256.sig`, a raw Ed25519 signature of the manifest's bytes.
Building reads in one short transaction, renders with none open, then audits the export naming
the SHA-256 of the zip and of every file in it (so `detector verify` knows what was sent).
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from detector.db import session_scope
from detector.errors import DetectorError
from detector.hashing import sha256_bytes
from detector.ingest.evidence import EvidenceError, EvidenceStore
from detector.ingest.originals import original_bytes
from detector.schema import Media, Message

from .cases import get_case
from .export import PreparedExport, prepare_export, record_export
from .keys import fingerprint, load_private, public_pem
from .photos import blurred_jpeg
from .render import to_csv, to_json, to_pdf

MANIFEST = "MANIFEST.sha256"
SIGNATURE = "MANIFEST.sha256.sig"
PUBLIC_KEY = "key.pem"
VERIFY = "VERIFY.txt"
SPAN_SUFFIX = {"telegram_json": ".json", "telegram_html": ".html", "whatsapp_txt": ".txt"}
PHOTO_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


class EvidenceMissing(DetectorError):
    """A case cites a message or photo whose original bytes are gone or altered: it cannot be exported."""


@dataclass(frozen=True)
class Bundle:
    """A built bundle: its zip bytes, the SHA-256 of each file in it, and the signing key's fingerprint."""

    ref: str
    data: bytes
    files: dict[str, str]
    key_fingerprint: str


def _checked(what: str, data: bytes, expected: str | None) -> bytes:
    if sha256_bytes(data) != expected:
        raise EvidenceMissing(f"{what}: its stored bytes no longer match their SHA-256 {expected}; "
                              "run `detector doctor` before exporting the case")
    return data


def evidence_files(session: Session, store: EvidenceStore, prepared: PreparedExport) -> dict[str, bytes]:
    """The originals the report cites (blurred photos only, and no message bytes, when redacted)."""
    files: dict[str, bytes] = {}
    for entry in prepared.report["messages"]:
        message = session.get(Message, entry["message_id"])
        assert message is not None  # prepare_export checked every message exists
        what = f"message {message.id} ({message.source.platform} #{message.external_id})"
        for version in message.history if not prepared.redact else []:
            try:
                data = original_bytes(store, version)
            except (OSError, EvidenceError) as exc:
                raise EvidenceMissing(f"{what}: its original bytes (version {version.version}) are missing "
                                      f"from the evidence store ({exc}); the case cannot be exported") from exc
            suffix = SPAN_SUFFIX.get(version.export_file.format, ".bin")
            files[f"evidence/messages/{message.id}-v{version.version}{suffix}"] = _checked(
                f"{what} version {version.version}", data, version.raw_sha256)
        for photo in entry["photos"]:
            media = session.get(Media, photo["media_id"])
            if media is None or media.status != "stored" or photo["shown"] == "none":
                continue
            try:
                with store.open(media.stored_path or "") as stream:
                    data = _checked(f"{what} photo {media.id}", stream.read(), media.sha256)
            except (OSError, EvidenceError) as exc:
                raise EvidenceMissing(f"{what}: photo {media.id} is missing from the evidence store ({exc}); "
                                      "the case cannot be exported") from exc
            if prepared.redact:
                files[f"evidence/photos/{media.id}-blurred.jpg"] = blurred_jpeg(data)
            else:
                files[f"evidence/photos/{media.id}{PHOTO_SUFFIX.get(media.mime or '', '.bin')}"] = data
    return files


def verify_text(ref: str, tlp: str, key_fingerprint: str) -> str:
    """VERIFY.txt: how a partner checks the bundle with standard tools only."""
    hex_digest = key_fingerprint.removeprefix("SHA256:")
    return f"""Referral bundle {ref} (TLP:{tlp}) - how to check it with standard tools only
================================================================================

Run these in this folder (Linux/macOS; on Windows use WSL or Git Bash).

1. The key. Compare key.pem's fingerprint with the one the sender gave you by another
   channel (`detector keys show` on their side). This must print {hex_digest}:

     openssl pkey -pubin -in {PUBLIC_KEY} -outform DER | sha256sum

2. The files. Every line must end in OK; any changed or missing file fails:

     sha256sum -c {MANIFEST}

3. The signature over the manifest (OpenSSL 3). It must print "Signature Verified Successfully":

     openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY} -rawin -in {MANIFEST} -sigfile {SIGNATURE}

Only files listed in {MANIFEST} belong to the bundle. {ref}.pdf is PDF/A-3a and carries
{ref}.json as an embedded file. The report is a lead for investigation, not a finding.
"""


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    """`sha256sum` output for `files` (name order), which `sha256sum -c` checks."""
    return "".join(f"{sha256_bytes(data)}  {name}\n" for name, data in sorted(files.items())).encode("utf-8")


def zip_bytes(root: str, files: dict[str, bytes], when: tuple[int, int, int, int, int, int]) -> bytes:
    """A zip of `files` under the folder `root/`, with one timestamp for every entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def render_bundle(prepared: PreparedExport, originals: dict[str, bytes], key_dir: Path) -> Bundle:
    """Render and sign the bundle (no database: the slow step)."""
    key = load_private(key_dir)
    public = key.public_key()
    report, ref = prepared.report, prepared.ref
    json_data = to_json(report)
    files = {f"{ref}.pdf": to_pdf(report, prepared.photo_uris, {f"{ref}.json": json_data}),
             f"{ref}.json": json_data, f"{ref}.csv": to_csv(report), **originals,
             PUBLIC_KEY: public_pem(public),
             VERIFY: verify_text(ref, report["case"]["tlp"], fingerprint(public)).encode("utf-8")}
    manifest = manifest_bytes(files)
    files |= {MANIFEST: manifest, SIGNATURE: key.sign(manifest)}
    when = prepared.exported_at.utctimetuple()[:6]
    return Bundle(ref, zip_bytes(ref, files, when), {n: sha256_bytes(d) for n, d in files.items()},
                  fingerprint(public))


def prepare_bundle(session: Session, ref: str, *, evidence_dir: Path, key_dir: Path, actor: str,
                   redact: bool = False, photos: str = "blurred") -> tuple[PreparedExport, dict[str, bytes]]:
    """Read what the bundle needs (reads only): the report, its photos and the originals it cites."""
    key_fingerprint = fingerprint(load_private(key_dir).public_key())
    prepared = prepare_export(session, get_case(session, ref), "pdf", evidence_dir=evidence_dir, actor=actor,
                              redact=redact, photos=photos, via="bundle", signing_key=key_fingerprint)
    prepared = dataclasses.replace(prepared, fmt="bundle")
    return prepared, evidence_files(session, EvidenceStore(evidence_dir), prepared)


def record_bundle(session: Session, prepared: PreparedExport, bundle: Bundle) -> None:
    """Audit the bundle: the zip's SHA-256 and size, each file's SHA-256 and the key's fingerprint."""
    record_export(session, prepared, bundle.data, {"files": bundle.files, "signing_key": bundle.key_fingerprint})


def build_bundle(engine: Engine, ref: str, *, evidence_dir: Path, key_dir: Path, actor: str,
                 redact: bool = False, photos: str = "blurred") -> tuple[PreparedExport, Bundle]:
    """Read (short transaction) and render; the caller writes the zip, then calls `record_bundle`."""
    with session_scope(engine) as session:
        prepared, originals = prepare_bundle(session, ref, evidence_dir=evidence_dir, key_dir=key_dir, actor=actor,
                                             redact=redact, photos=photos)
    return prepared, render_bundle(prepared, originals, key_dir)
