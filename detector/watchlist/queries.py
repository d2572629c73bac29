"""What a message's watchlist matches show: list, owner, the owner's reference, distance, variant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..schema import Partner, Watchlist, WatchlistEntry, WatchlistMatch


@dataclass(frozen=True)
class MatchView:
    watchlist: str
    owner: str
    reference: str
    distance: int
    variant: str
    media_id: int
    matched_at: datetime

    @property
    def marker(self) -> str:
        """The item's mark: "watchlist match: LIST / REF"."""
        return f"watchlist match: {self.watchlist} / {self.reference}"


def message_matches(session: Session, message_id: int) -> list[MatchView]:
    """The message's matches, nearest first (the watchlist photo itself was never stored)."""
    rows = session.execute(
        select(Watchlist.name, Partner.name, WatchlistEntry.reference, WatchlistMatch.distance,
               WatchlistMatch.variant, WatchlistMatch.media_id, WatchlistMatch.matched_at)
        .join(WatchlistEntry, WatchlistEntry.id == WatchlistMatch.entry_id)
        .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
        .join(Partner, Partner.id == Watchlist.owner_id)
        .where(WatchlistMatch.message_id == message_id)
        .order_by(WatchlistMatch.distance, WatchlistMatch.id)).all()
    return [MatchView(*row) for row in rows]
