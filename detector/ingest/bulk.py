"""Fast executemany of many plain rows into one table (the loader's hot path).

The INSERT is compiled once by SQLAlchemy for the connection's dialect. The caller
builds each row as a tuple of driver-ready values, converting the columns that need
it with `converter(column)`: the column type's own bind processor (so values read
back exactly as the ORM's would), called only where a value is present. On SQLite
two take shorter routes: UTC datetimes to the very same text, and JSON lists to
UTF-8 JSON text (non-ASCII characters as they are, not as backslash-u escapes: a
third fewer bytes for Arabic-script text) that reads back as the same value;
tests/test_bulk.py holds both to SQLAlchemy. The rows then go to the driver's
executemany in one call, with no per-value work by SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]  # typeshed omits c_make_encoder
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert

from ..schema import UTCDateTime

Convert = Callable[[Any], Any]


def _json_text_encoder() -> Callable[[Any], str]:
    """json.dumps(value, ensure_ascii=False), with the C encoder made once rather than at every call.

    Values here come from parsed JSON, so they hold no cycles (no cycle check)."""
    encoder = json.JSONEncoder(ensure_ascii=False)
    if c_make_encoder is None:  # a Python without the _json accelerator
        return encoder.encode
    make = c_make_encoder(None, encoder.default, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(make(value, 0))


_JSON_TEXT = _json_text_encoder()


def _same(value: Any) -> Any:
    return value


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """A UTCDateTime as SQLite stores it: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_json(process: Convert) -> Convert:
    """UTF-8 JSON text of a list; anything else through SQLAlchemy's `process`."""

    def convert(value: Any) -> Any:
        return _JSON_TEXT(value) if type(value) is list else process(value)

    return convert


class BulkInsert:
    """`execute(rows)` inserts tuples of driver-ready values in `columns` order."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = conn.dialect
        names = list(columns)
        compiled = insert(table).compile(dialect=dialect, column_keys=names)
        if set(compiled.binds) != set(names):  # a column with a default was left out
            raise ValueError(f"{table.name}: give exactly {sorted(compiled.binds)}")
        self.conn = conn
        self.table = table
        self.sql = compiled.string
        self.names = names
        self.positional = bool(dialect.positional and compiled.positiontup)
        order = [names.index(key) for key in compiled.positiontup or ()]
        self.arrange = itemgetter(*order) if self.positional and order != list(range(len(names))) else None

    def converter(self, column: str) -> Convert:
        """Driver form of a value of `column`, exactly as SQLAlchemy would bind it (None stays None except for JSON)."""
        dialect = self.conn.dialect
        column_type = self.table.c[column].type
        sqlite = dialect.name == "sqlite"
        if sqlite and isinstance(column_type, UTCDateTime):
            return _sqlite_utc_text
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            return _same
        if isinstance(column_type, JSON):  # None has a JSON form too
            return _sqlite_json(process) if sqlite and dialect._json_serializer is None else process

        def convert(value: Any) -> Any:
            return None if value is None else process(value)

        return convert

    def execute(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert `rows`, tuples of driver-ready values (see `converter`)."""
        if not rows:
            return
        params: list[Any]
        if not self.positional:
            params = [dict(zip(self.names, row)) for row in rows]
        elif self.arrange is not None:
            params = list(map(self.arrange, rows))
        else:
            params = rows
        self.conn.exec_driver_sql(self.sql, params)
