"""Locks shared by every process working on one database, for jobs that must never run twice at once
(a watch pass, an alert pass), however many `detector watch` processes there are.

PostgreSQL: a session-level advisory lock taken on a connection held for the job; the server drops
it when that connection or its process dies, so a crashed watcher never blocks the others. SQLite:
an `flock` on a file beside the database file (SQLite serves one machine, and so does the lock).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, exc, text


def lock_key(name: str) -> int:
    """The signed 64-bit advisory-lock key of a lock name (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(f"detector:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def database_lock(engine: Engine, name: str, *, wait: bool = False) -> Iterator[bool]:
    """Hold the lock `name` for the block. Yields True when held; False (holding nothing) when another
    process holds it and `wait` is off; with `wait` it queues until the other is done."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, lock_key(name), wait) as held:
            yield held
    else:
        with _file_lock(engine, name, wait) as held:
            yield held


@contextmanager
def _advisory_lock(engine: Engine, key: int, wait: bool) -> Iterator[bool]:
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT pg_advisory_lock(:key)" if wait else "SELECT pg_try_advisory_lock(:key)"),
                             {"key": key}).scalar()
        conn.commit()  # the lock belongs to the session, not to a transaction left open
        held = wait or bool(taken)
        try:
            yield held
        finally:
            if held:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
                except exc.DBAPIError:
                    conn.invalidate()  # the session is gone, and its lock with it


@contextmanager
def _file_lock(engine: Engine, name: str, wait: bool) -> Iterator[bool]:
    database = engine.url.database
    if not database or database == ":memory:":  # a private in-memory database: no other process sees it
        yield True
        return
    fd = os.open(Path(f"{database}.{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing drops the flock
