"""Fast executemany of many plain rows into one table (the loader's hot path).

The INSERT is compiled once by SQLAlchemy for the connection's dialect. The caller
builds each row as a tuple of driver-ready values, converting the columns that need
it with `converter(column)`: the column type's own bind processor (so UTC datetimes
and JSON are stored exactly as the ORM would store them), called only where a value
is present. The rows then go to the driver's executemany in one call, with no
per-value work by SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, LargeBinary, Table, insert

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


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
        if isinstance(column_type, LargeBinary) and dialect.name == "sqlite":
            return _same  # sqlite3 stores bytes as the same BLOB its Binary wrapper would
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            return _same
        if isinstance(column_type, JSON):
            return process  # None has a JSON form too

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
