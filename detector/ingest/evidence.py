"""The evidence store: original bytes kept exactly, content addressed by SHA-256.

A blob lives at `<root>/<sha256[:2]>/<sha256><suffix>`. Blobs are write-once:
bytes go to a temporary file first, are hashed on the way, and are then linked
into place atomically; an existing blob is never overwritten.

Crash leftovers. A temporary file is named `.incoming-*` in the store's root and is
held under an exclusive `flock` by the process writing it until it has been linked
into place and removed. The kernel drops that lock when the process ends, even by
`kill -9`, so a temporary file whose lock can be taken has no live writer: it is
stale, and `remove_stale_temp` deletes it (only when it is also older than the
caller's start). Ingest holds the store's lock file (`.evidence.lock`) shared while
an input's transaction is open; `exclusive()` waits for none of them and tells
`detector doctor --fix` that no blob is between being written and being referenced.
Without `fcntl` (not POSIX) a temporary file counts as stale after an hour untouched.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import DetectorError
from ..hashing import CHUNK, sha256_stream

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")
TEMP_PREFIX = ".incoming-"
LOCK_NAME = ".evidence.lock"
UNLOCKED_STALE_SECONDS = 3600  # without fcntl: a temporary file untouched this long is stale


class EvidenceError(DetectorError):
    """The evidence store is damaged or was handed bytes that do not match their hash."""


class EvidenceBusy(EvidenceError):
    """Another process is storing evidence right now."""


@dataclass(frozen=True, slots=True)
class TempFile:
    """A temporary `.incoming-*` file in the store's root."""

    name: str
    size: int
    mtime: float


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

    def open(self, rel_path: str) -> io.BufferedReader:
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
        out, tmp = self._locked_temp()
        try:
            with out:  # the lock lasts until the temporary name is gone (see the module's notes)
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
                tmp.unlink(missing_ok=True)
            return Blob(sha, size, rel, created)
        finally:
            tmp.unlink(missing_ok=True)

    def _locked_temp(self) -> tuple[BinaryIO, Path]:
        """A new `.incoming-*` file, open for writing and locked, still under its name."""
        while True:
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.root)
            if fcntl is None:
                return os.fdopen(fd, "wb"), Path(tmp_name)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(tmp_name).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return os.fdopen(fd, "wb"), Path(tmp_name)
            os.close(fd)  # a cleaner took it between mkstemp and flock (it was "stale"): take another

    # ------------------------------------------------------------------ crash leftovers and locks

    def temp_files(self) -> list[TempFile]:
        """The temporary files in the store's root, live or stale."""
        found = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append(TempFile(entry.name, info.st_size, info.st_mtime))
        return sorted(found, key=lambda t: t.name)

    def temp_is_stale(self, name: str) -> bool:
        """True when no live process is writing the temporary file (its writer's lock is free)."""
        return self._remove_temp(name, before=None) is not None

    def remove_temp_if_stale(self, name: str, before: float) -> TempFile | None:
        """Delete one temporary file when no live process writes it and it changed before `before`."""
        return self._remove_temp(name, before)

    def remove_stale_temp(self, before: float | None = None) -> list[TempFile]:
        """Delete the temporary files no live process is writing and last changed before `before`
        (default: now); returns those removed."""
        before = time.time() if before is None else before
        removed = []
        for temp in self.temp_files():
            if self._remove_temp(temp.name, before) is not None:
                removed.append(temp)
        return removed

    def _remove_temp(self, name: str, before: float | None) -> TempFile | None:
        """Remove one stale temporary file (before=None: only probe); the file when it was stale."""
        path = self.root / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        try:
            info = os.fstat(fd)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return None  # its writer is alive
            elif time.time() - info.st_mtime < UNLOCKED_STALE_SECONDS:
                return None
            temp = TempFile(name, info.st_size, info.st_mtime)
            if before is None:
                return temp
            if info.st_mtime >= before or os.stat(path, follow_symlinks=False).st_ino != info.st_ino:
                return None  # newer than the caller's run, or replaced meanwhile
            path.unlink()
            return temp
        except FileNotFoundError:
            return None
        finally:
            os.close(fd)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Held (shared) while blobs may be written that rows do not reference yet."""
        with self._lock(exclusive=False, wait=True):
            yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No ingest is between writing blobs and committing their rows while this is held;
        raises EvidenceBusy instead of waiting."""
        with self._lock(exclusive=True, wait=False):
            yield

    @contextmanager
    def _lock(self, *, exclusive: bool, wait: bool) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
            except BlockingIOError:
                raise EvidenceBusy(
                    f"{self.root}: an ingest is storing evidence right now; try again when it has finished"
                ) from None
            yield
        finally:
            os.close(fd)

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
