"""Keeping `message_search` current: one row of searchable words per analysed message.

Written in the caller's transaction by the analysis step (new and edited messages are the
ones it analyses), so the index follows every ingest, watch pass and edit. On SQLite the
FTS5 table follows `message_search` through triggers (migration 0007).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from detector.schema import MessageSearch

FTS_TABLE = "message_fts"  # SQLite only; not an ORM table (FTS5 virtual table and its shadow tables)


def is_fts_table(name: str) -> bool:
    """Whether a table name belongs to the FTS5 index (skipped when models and database are compared)."""
    return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")


def write_bodies(conn: Connection, bodies: Iterable[tuple[int, str]]) -> None:
    """Insert or replace the searchable words of each (message id, body)."""
    rows = [{"message_id": mid, "body": body} for mid, body in bodies]
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(cast(Table, MessageSearch.__table__))
    conn.execute(stmt.on_conflict_do_update(index_elements=["message_id"], set_={"body": stmt.excluded.body}), rows)
