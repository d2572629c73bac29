"""The installation's Ed25519 signing key for referral bundles, kept outside the database.

`DETECTOR_KEY_DIR` (default `$XDG_STATE_HOME/detector/keys`, i.e. `~/.local/state/detector/keys`)
holds `signing-key.pem` (PKCS#8, mode 0600, never exported) and `signing-key.pub.pem`. The
fingerprint is `SHA256:` and the hex SHA-256 of the public key's DER form, which a partner can
recompute with standard tools: `openssl pkey -pubin -in key.pem -outform DER | sha256sum`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from detector.errors import DetectorError, InputError
from detector.hashing import sha256_bytes

PRIVATE_NAME = "signing-key.pem"
PUBLIC_NAME = "signing-key.pub.pem"


class SigningKeyError(DetectorError):
    """The signing key is missing, unsafe or already exists."""


def default_key_dir() -> Path:
    """`DETECTOR_KEY_DIR`, else the state folder of the XDG base directories."""
    if os.environ.get("DETECTOR_KEY_DIR"):
        return Path(os.environ["DETECTOR_KEY_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "detector" / "keys"


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM (what `openssl pkeyutl -pubin` reads)."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """`SHA256:<hex>` of the public key's DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + sha256_bytes(der)


def init_keys(folder: Path) -> Ed25519PublicKey:
    """Generate the key pair once (refused when a key exists); the private file is created 0600."""
    private_path = folder / PRIVATE_NAME
    if private_path.exists():
        raise SigningKeyError(f"{private_path}: a signing key exists already; it is generated only once")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    (folder / PUBLIC_NAME).write_bytes(public_pem(key.public_key()))
    return key.public_key()


def load_private(folder: Path) -> Ed25519PrivateKey:
    """The signing key; refused when missing, readable by others, or not Ed25519."""
    path = folder / PRIVATE_NAME
    if not path.is_file():
        raise SigningKeyError(f"{path}: no signing key; run `detector keys init` once on this installation")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise SigningKeyError(f"{path}: the signing key is readable by other users; run `chmod 600 {path}`")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def load_public(folder: Path) -> Ed25519PublicKey:
    """The installation's public key (from the private key, so the two cannot disagree)."""
    return load_private(folder).public_key()


def read_public_pem(data: bytes, name: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes; InputError naming `name` otherwise."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InputError(name, f"not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(name, "not an Ed25519 public key")
    return key


def signature_valid(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """True when `signature` is `key`'s Ed25519 signature of `data`."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True

