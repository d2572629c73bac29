"""Fast executemany of many plain rows into one table (the loader's hot path).

The INSERT is compiled once by SQLAlchemy for the connection's dialect, and each
value goes through its column's own type (so UTC datetimes and JSON are stored
exactly as the ORM would store them); the rows then go to the driver's
executemany in one call. Per row this costs about half of `conn.execute(insert(t), rows)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert


class BulkInsert:
    """`execute(rows, constants)` inserts dicts that, with `constants`, carry exactly `columns`."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = conn.dialect
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.conn = conn
        self.sql = compiled.string
        if set(compiled.binds) != set(columns):  # a column with a default was left out
            raise ValueError(f"{table.name}: give exactly {sorted(compiled.binds)}")
        self.as_tuple = itemgetter(*compiled.positiontup) if dialect.positional and compiled.positiontup else None
        processors = ((c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns)
        self.processors: dict[str, Callable[[Any], Any]] = {c: p for c, p in processors if p is not None}

    def execute(self, rows: list[dict[str, Any]], constants: dict[str, Any] | None = None) -> None:
        """Insert `rows`, each completed by `constants` (converted once); rows are converted in place."""
        if not rows:
            return
        constants = {c: self.processors[c](v) if c in self.processors else v for c, v in (constants or {}).items()}
        varying = [(c, p) for c, p in self.processors.items() if c not in constants]
        for row in rows:
            for column, process in varying:
                row[column] = process(row[column])
            row.update(constants)
        params: list[Any] = list(map(self.as_tuple, rows)) if self.as_tuple else rows
        self.conn.exec_driver_sql(self.sql, params)
