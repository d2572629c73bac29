"""The evidence store: original bytes kept exactly, content addressed by SHA-256.

A blob lives at `<root>/<sha256[:2]>/<sha256><suffix>`. Blobs are write-once:
bytes go to a temporary file first, are hashed on the way, and are then linked
into place atomically; an existing blob is never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import DetectorError
from ..hashing import CHUNK, sha256_stream

_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


class EvidenceError(DetectorError):
    """The evidence store is damaged or was handed bytes that do not match their hash."""


@dataclass(frozen=True, slots=True)
class Blob:
    """A stored blob: its hash, size and path relative to the store root."""

    sha256: str
    size: int
    rel_path: str
    created: bool  # False when identical bytes were already stored


def clean_suffix(name: str) -> str:
    """The file name's suffix when it is a plain one (`.json`, `.jpg`), else ''."""
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    return suffix if _SUFFIX.match(suffix) else ""


def release_cache(stream: BinaryIO, end: int = 0) -> None:
    """Let the kernel drop its cached copy of a file's bytes before `end` (0: all of them).

    For big exports read once: their cached pages would otherwise crowd the memory that
    SQLite's writes need next (on the project's VMs, writing beside a cached 1 GB export
    costs the kernel several times the CPU). The bytes on disk are untouched; a stream
    that is not a plain file is left alone.
    """
    try:
        os.posix_fadvise(stream.fileno(), 0, end, os.POSIX_FADV_DONTNEED)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass


class EvidenceStore:
    """Write-once, content-addressed blob storage under one root folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def rel_path(self, sha256: str, suffix: str = "") -> str:
        return f"{sha256[:2]}/{sha256}{suffix}"

    def path_of(self, rel_path: str) -> Path:
        """Absolute path of a stored blob (refuses paths that leave the store)."""
        parts = PurePosixPath(rel_path).parts
        if len(parts) != 2 or any(p in ("", ".", "..") for p in parts):
            raise EvidenceError(f"not an evidence path: {rel_path!r}")
        return self.root / parts[0] / parts[1]

    def open(self, rel_path: str) -> BinaryIO:
        """Open a stored blob for reading."""
        return open(self.path_of(rel_path), "rb")

    def read_span(self, rel_path: str, offset: int, length: int) -> bytes:
        """`length` bytes of a stored blob from `offset` (EvidenceError when the blob is shorter)."""
        with self.open(rel_path) as stream:
            stream.seek(offset)
            data = stream.read(length)
        if len(data) != length:
            raise EvidenceError(f"{rel_path} holds no {length} bytes at offset {offset}")
        return data

    def verify(self, rel_path: str) -> bool:
        """True when the blob's bytes still hash to the name it is stored under."""
        with self.open(rel_path) as stream:
            sha, _ = sha256_stream(stream)
        return PurePosixPath(rel_path).name.startswith(sha)

    def put_stream(self, stream: BinaryIO, suffix: str = "", expected_sha256: str | None = None) -> Blob:
        """Store everything `stream` yields; returns the blob (existing bytes are reused)."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256:
                raise EvidenceError(
                    f"bytes changed while being stored (expected {expected_sha256}, got {sha})"
                )
            rel = self.rel_path(sha, suffix)
            created = self._link_into_place(tmp, self.path_of(rel))
            return Blob(sha, size, rel, created)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, path: str | Path, expected_sha256: str | None = None) -> Blob:
        """Store a file's bytes under its own suffix (the original's cached pages are released after)."""
        with open(path, "rb") as stream:
            blob = self.put_stream(stream, clean_suffix(str(path)), expected_sha256)
            release_cache(stream)
            return blob

    def put_bytes(self, data: bytes, suffix: str = "") -> Blob:
        return self.put_stream(io.BytesIO(data), suffix)

    def discard(self, blob: Blob) -> None:
        """Remove a blob this run created (used when its transaction rolls back)."""
        if blob.created:
            self.path_of(blob.rel_path).unlink(missing_ok=True)

    @staticmethod
    def _link_into_place(tmp: Path, target: Path) -> bool:
        """Atomically give `tmp` the name `target` unless it exists; True if it was created."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, target)  # fails if target exists: never overwrites
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if target.exists():
                return False
            os.rename(tmp, target)
        return True
