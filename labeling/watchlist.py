"""The item page's watchlist panel: `install(app)` adds the `item_watchlist` template function
that `_watchlist.html` calls (the watchlist photo is never shown: it was never stored)."""

from __future__ import annotations

from fastapi import FastAPI, Request

from detector.db import session_scope
from detector.watchlist.queries import MatchView, message_matches


def _item_watchlist(request: Request, message_id: int) -> list[MatchView]:
    """For the item page's include (its handler has already checked the login)."""
    with session_scope(request.app.state.engine) as db:
        return message_matches(db, message_id)


def install(app: FastAPI) -> None:
    app.state.templates.env.globals["item_watchlist"] = _item_watchlist
