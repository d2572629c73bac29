"""Safe reading of zips and export folders, and resolving an export's media paths.

Zip members whose names escape the archive (`../`, absolute paths, drive letters,
symlinks) are refused before anything is read. Decompressed bytes are counted as
they are read, not taken from the headers, so a zip bomb is stopped early.
Media paths written in an export are resolved only inside the export's own
folder or zip; anything pointing outside is refused and never opened.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from ..errors import InputError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """How far a zip may expand before it is treated as a bomb."""

    max_total_bytes: int = 16 << 30  # everything read from one archive
    max_ratio: int = 200  # decompressed / compressed, per member ...
    ratio_floor_bytes: int = 4 << 20  # ... once a member has produced this much
    max_members: int = 200_000


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def path_problem(name: str) -> str | None:
    """Why a relative path taken from untrusted input is unsafe, or None when it is fine."""
    if not name or "\x00" in name:
        return "is empty or contains a NUL byte"
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        return "is absolute"
    depth = 0
    for part in unified.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "points outside the export"
        elif part not in ("", "."):
            depth += 1
    return None


def normalised(name: str) -> str:
    """A safe relative path in POSIX form with `.`, `..` and empty parts folded away."""
    parts: list[str] = []
    for part in name.replace("\\", "/").split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


class _CountingReader(io.RawIOBase):
    """A zip member reader that stops when the member or the archive expands too far."""

    def __init__(self, archive: "SafeZip", info: zipfile.ZipInfo) -> None:
        self._archive = archive
        self._info = info
        self._inner = archive.zip.open(info)
        self._count = 0
        self._ceiling = max(archive.limits.max_ratio * max(info.compress_size, 1), archive.limits.ratio_floor_bytes)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # BufferedReader passes a memoryview
        try:
            data = self._inner.read(len(buffer))
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise InputError(self._archive.display, f"member {self._info.filename!r} is damaged ({exc})") from exc
        n = len(data)
        buffer[:n] = data
        self._count += n
        self._archive.charge(n)
        if self._count > self._ceiling:
            raise InputError(
                self._archive.display,
                f"member {self._info.filename!r} expands more than {self._archive.limits.max_ratio} times "
                "its compressed size (zip bomb?)",
            )
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


class SafeZip:
    """A zip whose member names were checked; members open through a byte counter."""

    def __init__(self, path: str | Path, display: str | None = None, limits: ZipLimits | None = None) -> None:
        self.display = display or str(path)
        self.limits = limits or ZipLimits()
        self._read_total = 0
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(self.display, f"not a readable zip archive ({exc})") from exc
        self.members: dict[str, zipfile.ZipInfo] = {}
        self._check_members()

    def _check_members(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > self.limits.max_members:
            raise InputError(self.display, f"archive has more than {self.limits.max_members} members")
        for info in infos:
            problem = path_problem(info.filename)
            if problem:
                self.zip.close()
                raise InputError(self.display, f"member {info.filename!r} {problem}")
            if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
                self.zip.close()
                raise InputError(self.display, f"member {info.filename!r} is a symbolic link")
            if info.flag_bits & 0x1:
                self.zip.close()
                raise InputError(self.display, f"member {info.filename!r} is encrypted")
            if info.is_dir():
                continue
            name = normalised(info.filename)
            if name in self.members:
                self.zip.close()
                raise InputError(self.display, f"member {info.filename!r} appears twice")
            self.members[name] = info

    def charge(self, nbytes: int) -> None:
        """Count decompressed bytes against the archive's total budget."""
        self._read_total += nbytes
        if self._read_total > self.limits.max_total_bytes:
            raise InputError(
                self.display,
                f"archive expands to more than {self.limits.max_total_bytes} bytes (zip bomb?)",
            )

    def open(self, name: str) -> BinaryIO:
        """A buffered, counted reader of one member (by its normalised name)."""
        return io.BufferedReader(_CountingReader(self, self.members[name]), buffer_size=1 << 20)

    def size_of(self, name: str) -> int:
        return self.members[name].file_size

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- media


class MediaRefused(InputError):
    """An export names a media file outside its own folder or zip."""


class MediaResolver(Protocol):
    """Opens the media files an export refers to, relative to the export itself."""

    def open(self, rel_path: str) -> BinaryIO | None:
        """The file's bytes, None when it is absent; raises MediaRefused when unsafe."""


def _refuse(export_name: str, rel_path: str, problem: str) -> MediaRefused:
    return MediaRefused(export_name, f"media path {rel_path!r} {problem}; refused")


class FolderMedia:
    """Media of an export file on disk: resolved inside the export file's folder."""

    def __init__(self, export_path: Path, display: str) -> None:
        self.base = export_path.parent.resolve()
        self.display = display

    def open(self, rel_path: str) -> BinaryIO | None:
        problem = path_problem(rel_path)
        if problem:
            raise _refuse(self.display, rel_path, problem)
        candidate = self.base / normalised(rel_path)
        real = candidate.resolve()
        if not real.is_relative_to(self.base):
            raise _refuse(self.display, rel_path, "leads outside the export folder through a link")
        if not real.is_file():
            return None
        return open(real, "rb")


class ZipMedia:
    """Media of an export that is a member of a zip: resolved inside the member's folder."""

    def __init__(self, archive: SafeZip, member: str, display: str) -> None:
        self.archive = archive
        self.base = PurePosixPath(member).parent
        self.display = display

    def open(self, rel_path: str) -> BinaryIO | None:
        problem = path_problem(rel_path)
        if problem:
            raise _refuse(self.display, rel_path, problem)
        name = normalised(str(self.base / normalised(rel_path)))
        return self.archive.open(name) if name in self.archive.members else None
