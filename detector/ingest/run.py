"""Ingest files, folders and zips: detect, parse, store; one error line per bad file.

An *input* is a plain export file or a zip; each is stored in its own transaction
(all or nothing for that input), so one bad file never stops the others and never
leaves a partial write. Folders are walked recursively for exports.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import re
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ..config import Settings
from ..errors import DetectorError, InputError
from ..hashing import sha256_file
from ..schema import ExportFile, Media
from .archive import FolderMedia, MediaResolver, SafeZip, ZipMedia, is_zip
from .detect import HEAD_BYTES, detect_format
from .evidence import Blob, EvidenceStore, TempFile, clean_suffix, release_cache
from .load import ExportInfo, Loader, LoadResult
from .timezones import zone

EXPORT_SUFFIXES = {".json", ".html", ".htm", ".txt"}
log = logging.getLogger(__name__)
PARSERS = {"telegram_json": "telegram_json", "telegram_html": "telegram_html", "whatsapp_txt": "whatsapp"}


class Progress(Protocol):
    """Where ingest reports how far it got (a rich bar in the CLI)."""

    def start(self, total_bytes: int) -> None: ...

    def file(self, name: str) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def analysing(self, total: int) -> None: ...

    def analysed(self, count: int) -> None: ...


@dataclass(slots=True)
class InputResult:
    """One input (plain export file or zip) and what became of it."""

    path: Path
    display: str
    sha256: str = ""
    size: int = 0
    files: int = 0
    messages_new: int = 0
    messages_seen: int = 0
    versions_new: int = 0
    error: str | None = None

    def add(self, result: LoadResult) -> None:
        """Count one export file of this input."""
        self.files += 1
        self.messages_new += result.messages_new
        self.messages_seen += result.messages_seen
        self.versions_new += result.versions_new


@dataclass(slots=True)
class IngestSummary:
    """Totals of one ingest run. `files` counts export files read (new or already stored)."""

    files: int = 0
    messages_new: int = 0
    messages_seen: int = 0
    versions_new: int = 0
    errors: list[str] = field(default_factory=list)
    analysed: int = 0
    inputs: list[InputResult] = field(default_factory=list)
    temp_removed: list[TempFile] = field(default_factory=list)  # stale `.incoming-*` files cleaned first

    def add(self, item: InputResult) -> None:
        self.inputs.append(item)
        self.files += item.files
        self.messages_new += item.messages_new
        self.messages_seen += item.messages_seen
        self.versions_new += item.versions_new
        if item.error:
            self.errors.append(item.error)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "messages_new": self.messages_new,
            "messages_seen": self.messages_seen,
            "errors": list(self.errors),
        } | ({"temp_files_removed": len(self.temp_removed)} if self.temp_removed else {})

    def cleanup_line(self) -> str | None:
        """One line about the crash leftovers this run removed, or None."""
        if not self.temp_removed:
            return None
        size = sum(t.size for t in self.temp_removed)
        return (f"removed {len(self.temp_removed)} temporary file(s) ({size} bytes) left in the evidence "
                "store by an interrupted ingest")


# --------------------------------------------------------------------------- finding inputs


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def _natural_key(path: Path) -> tuple[Any, ...]:
    """messages.html < messages2.html < messages10.html, folder by folder."""
    return tuple(_natural(part) for part in path.parent.parts) + (_natural(path.stem), path.suffix)


def _looks_like_export(path: Path) -> bool:
    return path.suffix.lower() in EXPORT_SUFFIXES or path.suffix.lower() == ".zip"


def find_inputs(paths: Iterable[str | Path], exclude: Path | None = None) -> Iterator[tuple[Path, str] | str]:
    """Each input file as (path, display name), or an error line for a path that is unusable.

    Files named directly are always tried (their format is detected from content);
    folders are walked recursively for export files and zips, in natural order
    (messages.html before messages2.html before messages10.html), skipping the
    `exclude` folder (the evidence store) and symbolic links.
    """
    skip = exclude.resolve() if exclude is not None else None
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = (
                p
                for p in path.rglob("*")
                if p.is_file() and not p.is_symlink() and _looks_like_export(p) and not _inside(p, skip)
            )
            for item in sorted(found, key=_natural_key):
                yield item, str(item)
        elif path.is_file():
            yield path, str(path)
        else:
            yield f"{given}: no such file or folder"


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder)


# --------------------------------------------------------------------------- reading


RELEASE_BYTES = 64 << 20  # a stored export's pages read this far behind are handed back to the kernel


class _Counted(io.RawIOBase):
    """A seekable reader that reports new ground covered to the progress bar (a re-read counts once)
    and releases the page cache of what it has read (see evidence.release_cache)."""

    def __init__(self, inner: io.BufferedReader, progress: Progress | None) -> None:
        self._inner = inner
        self._progress = progress
        self._furthest = 0
        self._released = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: Any) -> int:
        size = self._inner.readinto(buffer)
        end = self._inner.tell()
        if self._progress is not None and end > self._furthest:
            self._progress.advance(end - self._furthest)
            self._furthest = end
        if end - self._released >= RELEASE_BYTES:
            release_cache(self._inner, end)
            self._released = end
        return size


def _parse(fmt: str, stream: BinaryIO, name: str, timezone: str) -> Iterator[Any]:
    module = importlib.import_module(f"{__package__}.{PARSERS[fmt]}")
    return module.parse(stream, name, timezone=timezone)


class _Ingester:
    """Stores inputs one transaction each; shared by `ingest_paths` and the inbox scraper."""

    def __init__(self, engine: Engine, settings: Settings, timezone: str, progress: Progress | None) -> None:
        self.engine = engine
        self.settings = settings
        self.evidence = EvidenceStore(settings.evidence_dir)
        self.timezone = timezone
        self.progress = progress

    def ingest(self, path: Path, display: str) -> InputResult:
        item = InputResult(path, display)
        if self.progress is not None:
            self.progress.file(display)
        try:
            with self.evidence.writing():  # doctor --fix waits: these blobs are unreferenced until commit
                self._store(path, display, item)
        except InputError as exc:
            item.error = str(exc)
        except DetectorError as exc:
            item.error = f"{display}: {exc}"
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a malformed file that tripped a parser, a full disk: one line, no traceback
            item.error = f"{display}: could not be ingested ({type(exc).__name__}: {exc})"
        if item.error:
            item.files = item.messages_new = item.messages_seen = item.versions_new = 0
        return item

    def _store(self, path: Path, display: str, item: InputResult) -> None:
        """One input in one transaction; the blobs it wrote are removed again when it rolls back."""
        loader: Loader | None = None
        try:
            with open(path, "rb") as stream:
                head = stream.read(HEAD_BYTES)
            item.sha256, item.size = sha256_file(path)
            with self.engine.begin() as conn:
                loader = Loader(conn, self.evidence, actor=self.settings.actor, max_text_chars=self.settings.max_text_chars)
                if is_zip(head):
                    self._zip(loader, path, display, item)
                else:
                    self._plain(loader, path, display, head, item)
        except BaseException:
            if loader is not None:  # the transaction rolled back: so do the blobs it wrote
                self._discard_unreferenced(loader.created_blobs)
            raise

    def _discard_unreferenced(self, blobs: list[Blob]) -> None:
        """Remove blobs written for a rolled-back input, unless another process stored the same bytes meanwhile."""
        with self.engine.connect() as conn:
            for blob in blobs:
                referenced = conn.execute(
                    select(ExportFile.id).where(ExportFile.sha256 == blob.sha256).union_all(
                        select(Media.id).where(Media.sha256 == blob.sha256)
                    ).limit(1)
                ).first()
                if referenced is None:
                    self.evidence.discard(blob)

    def _plain(self, loader: Loader, path: Path, display: str, head: bytes, item: InputResult) -> None:
        fmt = detect_format(head, display)
        if self._already_stored(loader, item.sha256, item):
            return
        blob = loader.keep(self.evidence.put_file(path, expected_sha256=item.sha256))
        export = ExportInfo(display, blob.sha256, blob.size, fmt, blob.rel_path)
        self._load(loader, export, FolderMedia(path, display), item)

    def _zip(self, loader: Loader, path: Path, display: str, item: InputResult) -> None:
        with SafeZip(path, display) as archive:
            members = sorted(
                (m for m in archive.members if Path(m).suffix.lower() in EXPORT_SUFFIXES),
                key=lambda m: _natural_key(Path(m)),
            )
            found = 0
            for member in members:
                name = f"{display}/{member}"
                with archive.open(member) as stream:
                    head = stream.read(HEAD_BYTES)
                try:
                    fmt = detect_format(head, name)
                except InputError:
                    continue  # an attachment such as a .txt document, not an export
                found += 1
                with archive.open(member) as stream:
                    blob = loader.keep(self.evidence.put_stream(stream, clean_suffix(member)))
                if self._already_stored(loader, blob.sha256, item):
                    continue
                export = ExportInfo(name, blob.sha256, blob.size, fmt, blob.rel_path)
                self._load(loader, export, ZipMedia(archive, member, name), item)
            if not found:
                raise InputError(display, "archive holds no Telegram or WhatsApp export")

    def _already_stored(self, loader: Loader, sha256: str, item: InputResult) -> bool:
        known = loader.stored_export(sha256)
        if known is not None:
            item.add(known)
        return known is not None

    def _load(self, loader: Loader, export: ExportInfo, media: MediaResolver, item: InputResult) -> None:
        with self.evidence.open(export.stored_path) as raw:
            stream = io.BufferedReader(_Counted(raw, self.progress), buffer_size=1 << 20)
            item.add(loader.load(export, _parse(export.format, stream, export.name, self.timezone), media))


def input_size(path: Path) -> int:
    """Bytes the parsers will read from an input (for a zip: its exports' declared sizes)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return sum(i.file_size for i in archive.infolist() if Path(i.filename).suffix.lower() in EXPORT_SUFFIXES)
        return os.path.getsize(path)
    except (OSError, zipfile.BadZipFile):
        return 0


def ingest_inputs(
    engine: Engine,
    settings: Settings,
    inputs: Iterable[tuple[Path, str] | str],
    *,
    timezone: str | None = None,
    progress: Progress | None = None,
    should_stop: Any = None,
) -> IngestSummary:
    """Ingest already-found inputs (see `find_inputs`); error strings are passed through.

    First removes the evidence store's stale temporary files (`.incoming-*` left by an
    ingest that was killed: no live writer holds their lock, older than this run)."""
    started = time.time()
    inputs = list(inputs)
    timezone = timezone or settings.export_timezone
    zone(timezone)  # an unknown zone is a ConfigError for the whole run, not one per file
    if progress is not None:
        progress.start(sum(input_size(i[0]) for i in inputs if not isinstance(i, str)))
    ingester = _Ingester(engine, settings, timezone, progress)
    summary = IngestSummary(temp_removed=ingester.evidence.remove_stale_temp(before=started))
    if summary.temp_removed:
        log.info("%s: %s", settings.evidence_dir, summary.cleanup_line())
    for entry in inputs:
        if should_stop is not None and should_stop():
            break
        if isinstance(entry, str):
            summary.errors.append(entry)
            continue
        summary.add(ingester.ingest(*entry))
    return summary


def ingest_paths(
    engine: Engine,
    settings: Settings,
    paths: Iterable[str | Path],
    *,
    timezone: str | None = None,
    analyse: bool = True,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest files, folders and zips; then (unless `analyse=False`) analyse the new messages' text."""
    summary = ingest_inputs(engine, settings, find_inputs(paths, settings.evidence_dir), timezone=timezone, progress=progress)
    if analyse:
        from .analysis import analyse_pending, count_pending

        if progress is not None:
            progress.analysing(count_pending(engine))
        summary.analysed = analyse_pending(engine, progress=progress.analysed if progress is not None else None)
    return summary
