"""`detector doctor`: checks of the database and the evidence store, as plain findings.

`examine` changes nothing: it checks the database (SQLite `integrity_check` and
`foreign_key_check`; on PostgreSQL every foreign key by query, constraints left
NOT VALID, invalid indexes and, when the `amcheck` extension is installed, every
B-tree index), that it is at the newest migration, that every blob a row references
exists and hashes to its name and recorded SHA-256, and lists orphaned blobs (no row
references them), temporary files and anything else in the store. `repair` removes
only what nothing references: orphaned blobs (and only when the database checked
clean, under the store's exclusive lock, after asking the database again) and stale
temporary files; it records one `evidence_cleanup` AuditEvent.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Engine, exists, func, inspect, select, text

from .db import alembic_config, session_scope
from .errors import ConfigError
from .hashing import CHUNK
from .ingest.evidence import LOCK_NAME, TEMP_PREFIX, EvidenceError, EvidenceStore
from .schema import AuditEvent, Base, ExportFile, Media

_BLOB = re.compile(r"^(?P<sha>[0-9a-f]{64})(\.[A-Za-z0-9]{1,10})?$")
DATABASE_CHECKS = {"integrity", "foreign_key", "constraint", "index", "migrations", "database"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing doctor found. `problem` makes the exit status 1; `fixable` ones `--fix` removes."""

    check: str  # integrity foreign_key constraint index migrations database missing_blob corrupt_blob
    #            bad_path orphan_blob temp_file unknown_file note
    subject: str
    detail: str
    problem: bool = True
    fixable: bool = False
    size: int = 0

    def line(self) -> str:
        return f"{self.check.replace('_', ' ')}: {self.subject}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Report:
    """What `examine` found, and how much it looked at."""

    findings: list[Finding] = field(default_factory=list)
    blobs_verified: int = 0
    bytes_verified: int = 0
    started: float = field(default_factory=time.time)
    removed: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        """Problems still there (those `repair` removed are not)."""
        gone = set(self.removed)
        return [f for f in self.findings if f.problem and f not in gone]

    @property
    def database_ok(self) -> bool:
        return not any(f.problem and f.check in DATABASE_CHECKS for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.problems,
            "findings": [f.to_dict() for f in self.findings],
            "blobs_verified": self.blobs_verified,
            "bytes_verified": self.bytes_verified,
            "removed": [f.to_dict() for f in self.removed],
        }


class Progress(Protocol):
    def start(self, total_bytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


# --------------------------------------------------------------------------- database


def check_database(engine: Engine) -> list[Finding]:
    """Storage-level checks of the database itself."""
    if engine.dialect.name == "sqlite":
        return _sqlite_checks(engine)
    findings = _foreign_key_queries(engine)
    if engine.dialect.name == "postgresql":
        findings += _postgres_checks(engine)
    return findings


def _sqlite_checks(engine: Engine) -> list[Finding]:
    findings = []
    with engine.connect() as conn:
        for (message,) in conn.exec_driver_sql("PRAGMA integrity_check").fetchall():
            if message != "ok":
                findings.append(Finding("integrity", "database", message))
        for table, rowid, parent, _fk in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
            findings.append(Finding("foreign_key", f"{table} row {rowid}", f"refers to a missing {parent} row"))
    return findings


def _foreign_key_queries(engine: Engine) -> list[Finding]:
    """Rows whose single-column foreign key names no row (what PRAGMA foreign_key_check finds on SQLite)."""
    existing = set(inspect(engine).get_table_names())
    findings = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_key_constraints:
                if table.name not in existing or fk.referred_table.name not in existing or len(fk.elements) != 1:
                    continue
                element = fk.elements[0]
                child, parent = element.parent, element.column
                count = conn.execute(
                    select(func.count()).select_from(table).where(
                        child.is_not(None), ~exists().where(parent == child)
                    )
                ).scalar_one()
                if count:
                    findings.append(Finding("foreign_key", f"{table.name}.{child.name}",
                                            f"{count} row(s) refer to a missing {parent.table.name} row"))
    return findings


def _postgres_checks(engine: Engine) -> list[Finding]:
    findings = []
    with engine.connect() as conn:
        for relation, name in conn.execute(text(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE NOT c.convalidated AND n.nspname = current_schema()"
        )):
            findings.append(Finding("constraint", f"{relation}.{name}", "was never validated (NOT VALID)"))
        for (index,) in conn.execute(text(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE (NOT i.indisvalid OR NOT i.indisready) AND n.nspname = current_schema()"
        )):
            findings.append(Finding("index", index, "is invalid (an interrupted CREATE INDEX?): REINDEX it"))
        if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")).first():
            indexes = conn.execute(text(
                "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND i.indisvalid AND n.nspname = current_schema()"
            )).all()
            for oid, name in indexes:
                try:
                    with conn.begin_nested():
                        conn.execute(text("SELECT bt_index_check(:oid)"), {"oid": oid})
                except Exception as exc:  # amcheck reports corruption as an error
                    findings.append(Finding("index", name, f"amcheck: {getattr(exc, 'orig', exc)}"))
        else:
            findings.append(Finding("note", "database", "PostgreSQL extension amcheck not installed: "
                                    "index structure not checked", problem=False))
    return findings


def check_migrations(engine: Engine) -> list[Finding]:
    """The database's Alembic revision against the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = set(script.get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return []
    if not current:
        return [Finding("migrations", "database", "no migrations applied: not a detector database (or empty)")]
    known = {rev.revision for rev in script.walk_revisions()}
    if current - known:
        return [Finding("migrations", "database", f"at unknown revision {', '.join(sorted(current - known))} "
                        "(written by a newer detector?)")]
    return [Finding("migrations", "database", f"at {', '.join(sorted(current))}, newest is "
                    f"{', '.join(sorted(heads))} (any other detector command migrates it)")]


# --------------------------------------------------------------------------- evidence


def referenced_blobs(engine: Engine) -> dict[str, list[tuple[str, int, str | None]]]:
    """Every stored_path rows refer to -> [(table, row id, recorded sha256)]."""
    existing = set(inspect(engine).get_table_names())
    refs: dict[str, list[tuple[str, int, str | None]]] = {}
    with engine.connect() as conn:
        if ExportFile.__tablename__ in existing:
            for row_id, sha, path in conn.execute(select(ExportFile.id, ExportFile.sha256, ExportFile.stored_path)):
                refs.setdefault(path, []).append(("export_file", row_id, sha))
        if Media.__tablename__ in existing:
            query = select(Media.id, Media.sha256, Media.stored_path).where(Media.stored_path.is_not(None))
            for media_id, media_sha, media_path in conn.execute(query):
                refs.setdefault(cast(str, media_path), []).append(("media", media_id, media_sha))  # NULL paths are not selected
    return refs


def _hash(path: Path, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress.advance(len(chunk))
    return digest.hexdigest()


def _rows(users: list[tuple[str, int, str | None]]) -> str:
    shown = ", ".join(f"{table} {row_id}" for table, row_id, _ in users[:3])
    return shown + (f" and {len(users) - 3} more" if len(users) > 3 else "")


def check_blobs(store: EvidenceStore, refs: dict[str, list[tuple[str, int, str | None]]],
                progress: Progress | None = None) -> tuple[list[Finding], int, int]:
    """Each referenced blob exists and its SHA-256 equals its name and the rows' recorded hash.
    Returns (findings, blobs verified, bytes hashed)."""
    if refs and not store.root.is_dir():
        return [Finding("missing_blob", str(store.root),
                        f"the evidence folder does not exist ({len(refs)} blob(s) referenced)")], 0, 0
    findings: list[Finding] = []
    paths: dict[str, Path] = {}
    for rel, users in refs.items():
        try:
            paths[rel] = store.path_of(rel)
        except EvidenceError:
            findings.append(Finding("bad_path", rel, f"not a path in the evidence store ({_rows(users)})"))
    sizes = {rel: p.stat().st_size for rel, p in paths.items() if p.is_file()}
    if progress is not None:
        progress.start(sum(sizes.values()))
    verified = hashed = 0
    for rel, path in sorted(paths.items()):
        users = refs[rel]
        if rel not in sizes:
            findings.append(Finding("missing_blob", rel, f"is missing ({_rows(users)})"))
            continue
        actual = _hash(path, progress)
        hashed += sizes[rel]
        verified += 1
        match = _BLOB.match(path.name)
        expected = {match["sha"]} if match else set()
        expected |= {sha for _, _, sha in users if sha}
        wrong = sorted(e for e in expected if e != actual)
        if wrong or not match:
            findings.append(Finding("corrupt_blob", rel, f"SHA-256 is {actual}, expected {' / '.join(wrong) or 'a hash name'} "
                                    f"({_rows(users)})", size=sizes[rel]))
    return findings, verified, hashed


def find_leftovers(store: EvidenceStore, refs: dict[str, Any]) -> list[Finding]:
    """Orphaned blobs (no row refers to them), temporary files, and files that do not belong."""
    findings: list[Finding] = []
    if not store.root.is_dir():
        return findings
    for temp in store.temp_files():
        if store.temp_is_stale(temp.name):
            findings.append(Finding("temp_file", temp.name, "left by an interrupted ingest", fixable=True, size=temp.size))
        else:
            findings.append(Finding("note", temp.name, "temporary file of an ingest running now", problem=False,
                                    size=temp.size))
    for entry in sorted(os.scandir(store.root), key=lambda e: e.name):
        if entry.name == LOCK_NAME or entry.name.startswith(TEMP_PREFIX):
            continue
        if not entry.is_dir(follow_symlinks=False):
            findings.append(Finding("unknown_file", entry.name, "does not belong in the evidence store (left alone)"))
            continue
        for item in sorted(os.scandir(entry.path), key=lambda e: e.name):
            rel = f"{entry.name}/{item.name}"
            match = _BLOB.match(item.name)
            if not (item.is_file(follow_symlinks=False) and match and match["sha"][:2] == entry.name):
                findings.append(Finding("unknown_file", rel, "is not a blob of this store (left alone)"))
            elif rel not in refs:
                size = item.stat(follow_symlinks=False).st_size
                findings.append(Finding("orphan_blob", rel, "no row refers to it", fixable=True, size=size))
    return findings


# --------------------------------------------------------------------------- together


def examine(engine: Engine, store: EvidenceStore, progress: Progress | None = None) -> Report:
    """Every check; changes nothing."""
    report = Report()
    try:
        report.findings += check_database(engine)
        report.findings += check_migrations(engine)
    except Exception as exc:  # a file that is not a database at all, a lost connection
        report.findings.append(Finding("database", str(engine.url.render_as_string()), f"cannot be checked: {exc}"))
        return report
    refs = referenced_blobs(engine)
    blob_findings, report.blobs_verified, report.bytes_verified = check_blobs(store, refs, progress)
    report.findings += blob_findings
    report.findings += find_leftovers(store, refs)
    return report


def repair(engine: Engine, store: EvidenceStore, report: Report, actor: str) -> list[Finding]:
    """Remove the fixable findings nothing references; records one AuditEvent; returns what was removed.

    Orphaned blobs are removed only when the database checked clean, under the store's
    exclusive lock (no ingest is between writing a blob and committing its row) and after
    the references are read again; temporary files only while no live process holds them.
    Raises EvidenceBusy when an ingest is storing evidence right now.
    """
    removed: list[Finding] = []
    with store.exclusive():
        refs = referenced_blobs(engine) if report.database_ok else None
        for finding in report.findings:
            if finding.check == "temp_file":
                if store.remove_temp_if_stale(finding.subject, before=report.started) is not None:
                    removed.append(finding)
            elif finding.check == "orphan_blob" and refs is not None and finding.subject not in refs:
                path = store.path_of(finding.subject)
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed.append(finding)
        if removed:
            with session_scope(engine) as session:
                session.add(AuditEvent(
                    actor=actor, action="evidence_cleanup", object_type="evidence_store",
                    object_id=str(store.root)[:100],
                    before={kind: [{"path": f.subject, "size": f.size} for f in removed if f.check == kind]
                            for kind in ("orphan_blob", "temp_file")},
                    after={"removed_files": len(removed), "removed_bytes": sum(f.size for f in removed)},
                ))
    report.removed = removed
    return removed


def open_for_checks(url: str) -> Engine:
    """An engine for `url` that neither creates nor migrates the database."""
    from sqlalchemy.engine import make_url

    from .db import make_engine

    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"cannot use database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise ConfigError(f"no database at {parsed.database}")
    return make_engine(url)


def summary_line(report: Report) -> str:
    """The closing line: healthy, or how many problems of which kind."""
    problems = report.problems
    removed = f"; removed {len(report.removed)} file(s), {sum(f.size for f in report.removed)} bytes" if report.removed else ""
    if not problems:
        return f"healthy: database ok, {report.blobs_verified} blob(s) verified ({report.bytes_verified} bytes){removed}"
    kinds: dict[str, int] = {}
    for finding in problems:
        kinds[finding.check] = kinds.get(finding.check, 0) + 1
    listed = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(kinds.items()))
    hint = "" if report.removed or not any(f.fixable for f in problems) else " (--fix removes the fixable ones)"
    return f"{len(problems)} problem(s): {listed}; {report.blobs_verified} blob(s) verified{removed}{hint}"

