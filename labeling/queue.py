"""The queue: flagged messages in priority, score or uncertainty order, filters and search, and leases.

`QueueItem` rows mirror the latest Score of each flagged message (`refresh_queue` reads
new Score rows incrementally) so ordering and filtering never touch the large tables.
Leases hand an item to one person at a time: the `lease` primary key is the guard, so
a claim is one INSERT ... ON CONFLICT DO NOTHING (or an UPDATE of an expired lease).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, String, and_, cast, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from detector.schema import AuditSample, Label, Lease, Message, QueueItem, QueueSync, Score, Source

from .active import WINDOW, active_order
from .decisions import TAGS
from .errors import BadRequest
from .params import fits
from detector.queue_rows import MINOR_BOOST, dialect_insert, item_values
from detector.search.query import matches
from detector.text.display import SIGNAL_TYPES
from detector.review import REVIEW_STATES, STATES

LEASE_TIME = timedelta(minutes=10)
ORDERS = ("priority", "score", "uncertainty", "active")  # active: uncertainty + diversity (labeling/active.py)
ORDER_HELP = {
    "priority": f"Priority: the exact score, plus {MINOR_BOOST} when a minor's age is among the signals; "
                "equal ones newest first.",
    "score": "Highest score first (exact, not rounded); equal scores newest first.",
    "uncertainty": "Most uncertain first: scores nearest 0.5 first.",
    "active": "Active learning: among the most uncertain, a varied set first (similar messages spread apart).",
}
LANGUAGE_NAMES = {"ar": "Arabic", "ckb": "Sorani Kurdish", "kmr": "Kurmanji Kurdish", "fa": "Persian",
                  "tr": "Turkish", "en": "English", "und": "Undetermined"}
MAX_SEARCH = 200
STATE_CHOICES = (*STATES, "review", "any")
CLAIM_CANDIDATES = 25


# --------------------------------------------------------------------------- refresh from scores


def refresh_queue(session: Session) -> int:
    """Take in Score rows added since the last refresh; returns how many were read."""
    sync = session.get(QueueSync, "scores")
    last = sync.last_score_id if sync else 0
    newest = session.scalar(select(func.max(Score.id))) or 0
    if newest <= last:
        return 0
    insert = dialect_insert(session)
    flagged = session.execute(
        select(Score.id, Score.message_id, Score.probability, Message.signals, Message.language,
               Message.source_id, Message.sent_at)
        .join(Message, Message.id == Score.message_id)
        .where(Score.id > last, Score.id <= newest, Score.flagged.is_(True))
        .order_by(Score.id)
    ).all()
    latest = {row.message_id: row for row in flagged}
    if latest:
        stmt = insert(QueueItem)
        changed = {k: stmt.excluded[k] for k in ("score_id", "probability", "priority", "uncertainty",
                                                  "minor", "signal_types", "language", "flagged")}
        upsert = stmt.on_conflict_do_update(index_elements=["message_id"], set_=changed,
                                            where=QueueItem.score_id < stmt.excluded.score_id)
        session.execute(upsert, [item_values(row) for row in latest.values()])  # one executemany
    _take_unflagging(session, last, newest)
    if sync is None:
        session.execute(insert(QueueSync).values(name="scores", last_score_id=newest)
                        .on_conflict_do_nothing(index_elements=["name"]))
    session.execute(update(QueueSync).where(QueueSync.name == "scores", QueueSync.last_score_id < newest)
                    .values(last_score_id=newest))
    return newest - last


def _take_unflagging(session: Session, last: int, newest: int) -> None:
    """A newer unflagged score takes a queued message out of the queue (its labels stay)."""
    newer = (
        select(Score.message_id, func.max(Score.id).label("score_id"))
        .join(QueueItem, QueueItem.message_id == Score.message_id)
        .where(Score.id > last, Score.id <= newest, Score.flagged.is_(False), Score.id > QueueItem.score_id)
        .group_by(Score.message_id)
    )
    for message_id, score_id in session.execute(newer).all():
        session.execute(update(QueueItem).where(QueueItem.message_id == message_id)
                        .values(flagged=False, score_id=score_id))


# --------------------------------------------------------------------------- filters and order


def _parse_date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date like 2024-05-31, not {value!r}") from exc


def language_name(code: str) -> str:
    """A language code as the queue shows it: its English name, or the code when unknown."""
    return LANGUAGE_NAMES.get(code, code)


def _parse_score(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        score = float(value)
    except ValueError:
        score = math.nan
    if not 0.0 <= score <= 1.0:  # also refuses nan and inf
        raise BadRequest(f"{name} must be a score between 0 and 1, not {value[:20]!r}")
    return score


def _parse_flag(value: str, name: str) -> bool:
    if value not in ("", "0", "1"):
        raise BadRequest(f"{name} must be 1 or 0, not {value[:20]!r}")
    return value == "1"


@dataclass(frozen=True)
class QueueFilter:
    """What part of the queue to show and in which order (all values come from the query string)."""

    state: str = "open"
    order: str = "priority"
    language: str = ""
    source: int | None = None
    signal: str = ""
    date_from: date | None = None
    date_to: date | None = None
    audit: bool = False  # the recall audit's sampled unflagged messages instead of the flagged ones
    search: str = ""  # words of the message text, a phone number or a username (detector.search)
    score_min: float | None = None
    score_max: float | None = None
    tag: str = ""  # a tag on any label of the message

    @classmethod
    def from_params(cls, params: Any, default_state: str = "open") -> "QueueFilter":
        """Parse query parameters, refusing unknown values with a clear message."""
        audit = _parse_flag(params.get("audit") or "", "audit")
        state = params.get("state") or ("open" if audit else default_state)
        order = params.get("order") or "priority"
        signal = params.get("signal") or ""
        source = params.get("source") or ""
        if state not in STATE_CHOICES:
            raise BadRequest(f"unknown state {state!r}")
        if order not in ORDERS:
            raise BadRequest(f"unknown order {order!r}: use {', '.join(ORDERS)}")
        if signal and signal not in SIGNAL_TYPES:
            raise BadRequest(f"unknown signal type {signal!r}")
        if source and not fits(source):
            raise BadRequest(f"channel must be a channel number, not {source[:40]!r}")
        language = (params.get("language") or "").strip()
        if len(language) > 10:
            raise BadRequest("language must be a short code like ar or ckb")
        tag = params.get("tag") or ""
        if tag and tag not in TAGS:
            raise BadRequest(f"unknown tag {tag[:40]!r}: use {', '.join(TAGS)}")
        search = " ".join((params.get("search") or "").split())
        if len(search) > MAX_SEARCH:
            raise BadRequest(f"search is {len(search)} characters long; at most {MAX_SEARCH}")
        return cls(state, order, language, int(source) if source else None, signal,
                   _parse_date(params.get("date_from") or "", "date_from"),
                   _parse_date(params.get("date_to") or "", "date_to"), audit, search,
                   _parse_score(params.get("score_min") or "", "score_min"),
                   _parse_score(params.get("score_max") or "", "score_max"), tag)

    def query_string(self) -> str:
        """The filter as a query string (only values that are set)."""
        pairs = {k: ("" if v is None or v is False else "1" if v is True else str(v)) for k, v in asdict(self).items()}
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def states(self) -> tuple[str, ...]:
        if self.state == "review":
            return REVIEW_STATES
        if self.state == "any":
            return STATES
        return (self.state,)

    def conditions(self) -> list[Any]:
        sampled = QueueItem.message_id.in_(select(AuditSample.message_id))
        cond: list[Any] = [sampled if self.audit else QueueItem.flagged.is_(True), QueueItem.state.in_(self.states)]
        if self.language:
            cond.append(QueueItem.language == self.language)
        if self.source is not None:
            cond.append(QueueItem.source_id == self.source)
        if self.signal:
            cond.append(QueueItem.signal_types.like(f"%,{self.signal},%"))
        if self.date_from:
            cond.append(QueueItem.sent_at >= datetime.combine(self.date_from, time(), timezone.utc))
        if self.date_to:
            cond.append(QueueItem.sent_at < datetime.combine(self.date_to + timedelta(days=1), time(), timezone.utc))
        if self.score_min is not None:
            cond.append(QueueItem.probability >= self.score_min)
        if self.score_max is not None:
            cond.append(QueueItem.probability <= self.score_max)
        if self.tag:
            cond.append(exists().where(Label.message_id == QueueItem.message_id,
                                       cast(Label.tags, String).like(f'%"{self.tag}"%')))
        if self.search:
            cond.append(matches(QueueItem.message_id, self.search))
        return cond

    @property
    def help(self) -> str:
        """One line saying how this order ranks the items."""
        return ORDER_HELP[self.order]

    def _ranked(self) -> list[Any]:
        """The columns of a descending order, most significant first."""
        first = QueueItem.probability if self.order == "score" else QueueItem.priority
        return [first, QueueItem.sent_at, QueueItem.message_id]

    def order_by(self) -> list[Any]:
        if self.order in ("uncertainty", "active"):  # active re-ranks a window of this order
            return [QueueItem.uncertainty.asc(), QueueItem.message_id.asc()]
        return [column.desc() for column in self._ranked()]

    def after(self, item: QueueItem) -> Any:
        """Items that come after `item` in this order (keyset condition)."""
        if self.order in ("uncertainty", "active"):
            return or_(QueueItem.uncertainty > item.uncertainty,
                       and_(QueueItem.uncertainty == item.uncertainty, QueueItem.message_id > item.message_id))
        columns = self._ranked()
        values = [getattr(item, column.key) for column in columns]
        return or_(*(and_(*(c == v for c, v in zip(columns[:i], values[:i])), columns[i] < values[i])
                     for i in range(len(columns))))


def _leased_by_other(user_id: int, now: datetime) -> Any:
    return exists().where(Lease.message_id == QueueItem.message_id, Lease.user_id != user_id, Lease.expires_at > now)


def _decided_by(user_id: int) -> Any:
    return exists().where(Label.message_id == QueueItem.message_id, Label.user_id == user_id)


@dataclass(frozen=True)
class Row:
    """One line of the queue page."""

    item: QueueItem
    text: str
    channel: str
    sent_at: datetime | None
    leased_by_other: bool


def count_items(session: Session, flt: QueueFilter) -> int:
    return session.scalar(select(func.count()).select_from(QueueItem).where(*flt.conditions())) or 0


def count_left(session: Session, flt: QueueFilter, user_id: int) -> int:
    """Items of the filter this user has not decided yet (the "N of M left" of the item page)."""
    return session.scalar(select(func.count()).select_from(QueueItem)
                          .where(*flt.conditions(), ~_decided_by(user_id))) or 0


def list_items(session: Session, flt: QueueFilter, user_id: int, limit: int = 50, offset: int = 0,
               now: datetime | None = None) -> list[Row]:
    """A page of the queue in order, with a text snippet, the channel and whether another holds it."""
    now = now or datetime.now(timezone.utc)
    query: Select[Any] = (
        select(QueueItem, func.substr(Message.text, 1, 280), Source.name, Message.sent_at,
               _leased_by_other(user_id, now))
        .join(Message, Message.id == QueueItem.message_id)
        .join(Source, Source.id == QueueItem.source_id)
        .where(*flt.conditions())
        .order_by(*flt.order_by())
    )
    if flt.order == "active" and offset < WINDOW:
        rows = {r[0].message_id: r for r in session.execute(query.limit(WINDOW))}
        window = [rows[m] for m in active_order(session, list(rows))]
        return [Row(item, text or "", channel or "", sent, bool(other))
                for item, text, channel, sent, other in window[offset:offset + limit]]
    query = query.limit(limit).offset(offset)
    return [Row(item, text or "", channel or "", sent, bool(other)) for item, text, channel, sent, other in session.execute(query)]


# --------------------------------------------------------------------------- leases


def claim(session: Session, user_id: int, message_id: int, now: datetime | None = None) -> bool:
    """Lease `message_id` to the user unless someone else holds an unexpired lease; atomic."""
    now = now or datetime.now(timezone.utc)
    expires = now + LEASE_TIME
    insert = dialect_insert(session)
    inserted = session.execute(
        insert(Lease).values(message_id=message_id, user_id=user_id, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["message_id"])
    ).rowcount
    if inserted != 1:
        taken = session.execute(
            update(Lease)
            .where(Lease.message_id == message_id, or_(Lease.user_id == user_id, Lease.expires_at <= now))
            .values(user_id=user_id, expires_at=expires)
        ).rowcount
        if taken != 1:
            return False
    session.execute(delete(Lease).where(Lease.user_id == user_id, Lease.message_id != message_id))
    return True


def release(session: Session, user_id: int, message_id: int) -> None:
    session.execute(delete(Lease).where(Lease.user_id == user_id, Lease.message_id == message_id))


def lease_holder(session: Session, message_id: int, now: datetime | None = None) -> int | None:
    """The id of the user holding an unexpired lease on the message, if any."""
    now = now or datetime.now(timezone.utc)
    return session.scalar(select(Lease.user_id).where(Lease.message_id == message_id, Lease.expires_at > now))


def claim_next(session: Session, user_id: int, flt: QueueFilter, after: int | None = None,
               now: datetime | None = None) -> int | None:
    """Lease and return the first item of the filter that this user has not decided and nobody
    else holds (after item `after` in the order, when given); None when the queue is empty."""
    now = now or datetime.now(timezone.utc)
    conditions = [*flt.conditions(), ~_leased_by_other(user_id, now), ~_decided_by(user_id)]
    if after is not None:
        current = session.get(QueueItem, after)
        if current is not None:
            conditions.append(flt.after(current))
    window = WINDOW if flt.order == "active" else CLAIM_CANDIDATES
    query = select(QueueItem.message_id).where(*conditions).order_by(*flt.order_by()).limit(window)
    for _ in range(5):  # candidates taken by others meanwhile drop out of the next round
        candidates = session.scalars(query).all()
        if flt.order == "active":
            candidates = active_order(session, candidates)
        for message_id in candidates:
            if claim(session, user_id, message_id, now):
                return message_id
        if len(candidates) < window:
            break
    return None
