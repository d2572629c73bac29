"""One search interface over both databases: `matches(column, query)`, a condition that a
message id column is among the messages a search finds.

It compiles per database: on SQLite to a MATCH on the FTS5 table `message_fts`, on
PostgreSQL to `to_tsvector('simple', body) @@ to_tsquery(...)` over `message_search` (its GIN
index). Both read the words `terms.index_body` wrote, so a search finds the same messages on
either; the search words travel as bound parameters, never inside the SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, bindparam, false, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from detector.schema import MessageSearch

from .index import FTS_TABLE
from .terms import SearchQuery, parse_query


class Matches(ColumnElement[bool]):
    """`column IN (ids of the messages matching the search)`; see the module docstring."""

    type = Boolean()
    inherit_cache = False  # the search words are not part of a cache key

    def __init__(self, column: ColumnElement[Any], parsed: SearchQuery) -> None:
        self.column = column
        self.parsed = parsed


def matches(column: Any, query: str | SearchQuery) -> ColumnElement[bool]:
    """True where `column` (a message id) is a message matching `query`; a search with no
    letters or digits matches nothing."""
    return Matches(column, parse_query(query) if isinstance(query, str) else query)


@compiles(Matches, "sqlite")
def _sqlite(element: Matches, compiler: Any, **kw: Any) -> str:
    if not element.parsed:
        return compiler.process(false(), **kw)
    ids = (text(f"SELECT rowid AS message_id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts")
           .bindparams(bindparam("fts", element.parsed.fts5(), unique=True)).columns(message_id=Integer))
    return compiler.process(element.column.in_(ids), **kw)


@compiles(Matches)
def _postgresql(element: Matches, compiler: Any, **kw: Any) -> str:
    if not element.parsed:
        return compiler.process(false(), **kw)
    tsquery = func.to_tsquery(text("'simple'"), bindparam("tsq", element.parsed.tsquery(), unique=True))
    ids = select(MessageSearch.message_id).where(func.to_tsvector(text("'simple'"), MessageSearch.body).op("@@")(tsquery))
    return compiler.process(element.column.in_(ids), **kw)


def search(session: Session, query: str, *, limit: int = 100) -> list[int]:
    """The ids of messages matching `query`, newest stored first (at most `limit`)."""
    ids = MessageSearch.message_id
    return list(session.scalars(select(ids).where(matches(ids, query)).order_by(ids.desc()).limit(limit)))
