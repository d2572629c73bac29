"""The database schema (SQLAlchemy 2 ORM).

One identity runs end to end: a parsed record becomes a `Message`, unique on
(source, external id). Model output (`Score`) and human decisions (`Label`) are
separate append-only tables; every analyst action is an `AuditEvent`.
A message's original bytes are kept exactly as received, with their SHA-256: as a span
(`raw_offset`, `raw_length`) of its export file, which the evidence store keeps whole,
or inline in `raw` (rows stored before spans, or built by hand); see `ingest.originals`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import to_tsvector  # PostgreSQL's own construct, whatever was imported first
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


# --------------------------------------------------------------------------- evidence


class Source(Base):
    """A channel, group or chat on a platform."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))  # telegram | whatsapp
    chat_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(50), default="")  # public_channel, private_group, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportFile(Base):
    """One export file as received; its bytes are kept unchanged in the evidence store."""

    __tablename__ = "export_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)  # file name as received (zip member path for archives)
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(30))  # telegram_json | telegram_html | whatsapp_txt | whatsapp_zip
    stored_path: Mapped[str] = mapped_column(Text)  # relative to the evidence dir
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    ingested_by: Mapped[str] = mapped_column(String(200), default="")
    messages_new: Mapped[int] = mapped_column(Integer, default=0)
    messages_seen: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """A message: its first-seen bytes (version 1) and current text; `history` gives every version."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_message_source_sent", "source_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    export_file_id: Mapped[int] = mapped_column(ForeignKey("export_file.id"))
    kind: Mapped[str] = mapped_column(String(20), default="message")  # message | service
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    sent_local: Mapped[str] = mapped_column(String(100), default="")
    sender_name: Mapped[str] = mapped_column(Text, default="")
    sender_id: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")  # exact original text (latest version)
    # characters of the whole text when `text` keeps only its first Settings.max_text_chars (else NULL)
    text_length: Mapped[int | None] = mapped_column(Integer)
    entities: Mapped[list[Any]] = mapped_column(default=list)
    reply_to: Mapped[str | None] = mapped_column(String(100))
    forwarded_from: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # inline original bytes, when not stored as a span
    raw_offset: Mapped[int | None] = mapped_column(BigInteger)  # the span of the export file holding them
    raw_length: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(10), index=True)
    language_confidence: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    source: Mapped[Source] = relationship()
    export_file: Mapped[ExportFile] = relationship()
    media: Mapped[list["Media"]] = relationship(back_populates="message", order_by="Media.id")
    stored_versions: Mapped[list["MessageVersion"]] = relationship(order_by="MessageVersion.version")

    @property
    def history(self) -> list[MessageVersion]:
        """Every version, oldest first: the stored rows once edited, else version 1 read from this row."""
        return list(self.stored_versions) or [
            MessageVersion(
                message_id=self.id, version=1, text=self.text, text_length=self.text_length, edited_at=self.edited_at, raw=self.raw,
                raw_offset=self.raw_offset, raw_length=self.raw_length, raw_sha256=self.raw_sha256,
                export_file_id=self.export_file_id, export_file=self.export_file, seen_at=self.created_at,
            )
        ]


class MessageVersion(Base):
    """A distinct version of an edited message: none until its first edit, which stores version 1 (a copy of
    the Message row as first seen) and version 2; later edits add n+1. Read through `Message.history`."""

    __tablename__ = "message_version"
    __table_args__ = (UniqueConstraint("message_id", "raw_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    text_length: Mapped[int | None] = mapped_column(Integer)  # as in Message: set when `text` was cut
    edited_at: Mapped[datetime | None]
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # as in Message: inline bytes, or a span of its export
    raw_offset: Mapped[int | None] = mapped_column(BigInteger)
    raw_length: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    export_file_id: Mapped[int] = mapped_column(ForeignKey("export_file.id"))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    export_file: Mapped[ExportFile] = relationship()


class MessageSearch(Base):
    """A message's searchable words (`detector.search.terms.index_body`), written when it is analysed.

    Indexed by SQLite FTS5 (`message_fts`, external content, kept by triggers) or by a
    PostgreSQL GIN index on to_tsvector('simple', body); both made in migration 0007.
    """

    __tablename__ = "message_search"

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


Index("ix_message_search_tsv", to_tsvector(text("'simple'"), MessageSearch.__table__.c.body),
      postgresql_using="gin").ddl_if(dialect="postgresql")


class Media(Base):
    """A photo or file attached to a message."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # photo | file | video | voice | sticker | other
    rel_path: Mapped[str] = mapped_column(Text, default="")  # as written in the export
    status: Mapped[str] = mapped_column(String(20))  # stored | not_included | missing
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(100))
    stored_path: Mapped[str | None] = mapped_column(Text)  # relative to the evidence dir
    pdq: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)

    message: Mapped[Message] = relationship(back_populates="media")


class InboxFile(Base):
    """The scraper's ledger: every inbox file it has processed, by path and content hash."""

    __tablename__ = "inbox_file"
    __table_args__ = (UniqueConstraint("path", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))  # ingested | error
    error: Mapped[str | None] = mapped_column(Text)
    messages_new: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- model output


class Score(Base):
    """A model's output for a message. Rescoring appends; history is kept."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("message_id", "model_version"),
        Index("ix_score_flag_prob", "flagged", "probability"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(100), index=True)
    probability: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean)
    tier: Mapped[str] = mapped_column(String(20))  # fast | transformer
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- links (detector/link)


class LinkSketch(Base):
    """A message the linker has processed: its MinHash signature (uint32 values), or why it has none."""

    __tablename__ = "link_sketch"

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    skipped: Mapped[str | None] = mapped_column(String(40))  # short | huge_message
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cluster(Base):
    """Near-duplicate messages: one listing reposted, re-worded or re-priced."""

    __tablename__ = "link_cluster"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))  # bounds chaining (see link.clusters)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClusterMember(Base):
    """A message's cluster (a message is in at most one)."""

    __tablename__ = "link_cluster_member"

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("link_cluster.id"), index=True)


class Entity(Base):
    """A phone number (E.164), Telegram user, e-mail or photo that messages share."""

    __tablename__ = "link_entity"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # phone | telegram | telegram_invite | whatsapp_group | email | photo
    key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer, default=0)  # distinct messages
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EntityMember(Base):
    """A message carrying an entity (`via`: the contact as written, or the photo's media id)."""

    __tablename__ = "link_entity_member"
    __table_args__ = (UniqueConstraint("entity_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("link_entity.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    via: Mapped[str] = mapped_column(Text, default="")


class LinkPhoto(Base):
    """A stored photo the linker has hashed: its photo entity, or why it was skipped."""

    __tablename__ = "link_photo"

    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), primary_key=True)
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("link_entity.id"), index=True)
    pdq_crops: Mapped[bytes | None] = mapped_column(LargeBinary)  # PDQ of the whole photo and its crops, 32 bytes each
    skipped: Mapped[str | None] = mapped_column(String(40))  # not_an_image | decompression_bomb | missing_file | ...


# --------------------------------------------------------------------------- people and decisions


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # admin | analyst | reviewer
    password_hash: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Label(Base):
    """A human decision on a message. Append-only: a new decision is a new row."""

    __tablename__ = "label"
    __table_args__ = (Index("ix_label_message_created", "message_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # analyst | reviewer
    decision: Mapped[str] = mapped_column(String(20))  # listing | not_listing | unsure | skip
    tags: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    score_id: Mapped[int | None] = mapped_column(ForeignKey("score.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class Lease(Base):
    """An item handed to one analyst until it expires, so two never get the same item."""

    __tablename__ = "lease"

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class QueueItem(Base):
    """A flagged message in the labelling queue (kept in step with the latest Score and the Labels).

    `priority` ranks by score band, a minor's age among the signals and recency;
    `uncertainty` is |p - 0.5|; `state` is the review state computed from the labels.
    """

    __tablename__ = "queue_item"
    __table_args__ = (
        Index("ix_queue_priority", "flagged", "state", "priority", "sent_at"),
        Index("ix_queue_uncertainty", "flagged", "state", "uncertainty"),
        # covers the filters, so counting a filtered queue never reads the table
        Index("ix_queue_filter", "flagged", "state", "language", "signal_types", "source_id", "sent_at"),
    )

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("score.id"))
    probability: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[float] = mapped_column(Float)
    uncertainty: Mapped[float] = mapped_column(Float)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    signal_types: Mapped[str] = mapped_column(String(200), default=",")  # ",age,price,"
    language: Mapped[str | None] = mapped_column(String(10), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    sent_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueSync(Base):
    """How far the queue has read the score table (the last Score id taken in)."""

    __tablename__ = "queue_sync"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_score_id: Mapped[int] = mapped_column(BigInteger, default=0)


class LoginFailure(Base):
    """A failed login (name as typed, client address), counted by the login limiter of every
    server process; rows older than the limiter's window are deleted."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_name", "name", "failed_at"),
                      Index("ix_login_failure_address", "address", "failed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(100))
    failed_at: Mapped[datetime] = mapped_column(index=True)


class LoginAddress(Base):
    """An address an account has logged in from: it may still log in while others fail on the account."""

    __tablename__ = "login_address"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_login_at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only record of every state change and every export of evidence."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --------------------------------------------------------------------------- recall audits (detector/audit)


class AuditSample(Base):
    """An unflagged message drawn into a recall audit (`round`: one `detector audit sample` run).

    Its stratum (channel x language x score band) had `stratum_size` unflagged messages at
    sampling time, of which `stratum_sampled` were drawn; `weight` = size / sampled is the
    inverse inclusion probability. Labels come from the ordinary Label rows of the message.
    """

    __tablename__ = "audit_sample"
    __table_args__ = (UniqueConstraint("round", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round: Mapped[int] = mapped_column(Integer, index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("score.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    language: Mapped[str] = mapped_column(String(10))  # "und" when unknown
    band: Mapped[str] = mapped_column(String(30))  # score band, e.g. "0.02-0.05"
    stratum_size: Mapped[int] = mapped_column(Integer)
    stratum_sampled: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- referrals and alerts


class Case(Base):
    """A referral: confirmed and reviewed messages put together for partners (reports/)."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(30), unique=True)  # CASE-2026-0001
    tlp: Mapped[str] = mapped_column(String(20))  # CLEAR | GREEN | AMBER | AMBER+STRICT | RED
    summary: Mapped[str] = mapped_column(Text, default="")
    cluster_id: Mapped[int | None] = mapped_column(Integer)  # the linking cluster it was opened from
    entity_ids: Mapped[list[Any]] = mapped_column(default=list)  # linked entities it was opened from
    masked: Mapped[list[Any]] = mapped_column(default=list)  # victims' names / family phones to mask
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    messages: Mapped[list["CaseMessage"]] = relationship(order_by="CaseMessage.message_id")


class CaseMessage(Base):
    """A message in a case, with the analyst's translation of it."""

    __tablename__ = "case_message"

    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    translation: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship()


class Partner(Base):
    """An organisation that receives alerts: one channel (email or webhook) and filters."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # email | webhook
    address: Mapped[str] = mapped_column(Text)  # e-mail address or https URL
    secret: Mapped[str] = mapped_column(Text, default="")  # webhook HMAC key
    languages: Mapped[list[Any]] = mapped_column(default=list)  # empty: every language
    places: Mapped[list[Any]] = mapped_column(default=list)  # empty: everywhere
    min_severity: Mapped[str] = mapped_column(String(20), default="low")
    max_tlp: Mapped[str] = mapped_column(String(20), default="AMBER")  # the most restricted TLP it may receive
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    removed_at: Mapped[datetime | None]  # removed: configuration kept for the record, never sent to again
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """The outbox: one alert to one partner, kept until sent (retried with backoff, never dropped)."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("partner_id", "key"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    key: Mapped[str] = mapped_column(String(100))  # idempotency key: immediate:<uid> | digest:<day> | test:<time> ...
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid4()))  # global id: X-Delivery-Id
    kind: Mapped[str] = mapped_column(String(20))  # immediate | digest | test | retraction | update
    body: Mapped[str] = mapped_column(Text)  # the JSON payload, fixed when queued
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    partner: Mapped[Partner] = relationship()


class AlertedMessage(Base):
    """Which message went to which partner in which delivery (each message alerts a partner once)."""

    __tablename__ = "alerted_message"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), index=True)
    facts_sha256: Mapped[str | None] = mapped_column(String(64))  # the item as last told to the partner
    retracted_at: Mapped[datetime | None]  # when a retraction was queued (the confirmation was withdrawn)


# --------------------------------------------------------------------------- missing-person watchlists (detector/watchlist)


class Watchlist(Base):
    """A missing-person watchlist of a partner (its owner): PDQ hashes only, never photos or names."""

    __tablename__ = "watchlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[Partner] = relationship()


class WatchlistEntry(Base):
    """One hashed photo of a person a list's owner is looking for, under the owner's opaque reference.

    `hashes` holds PDQ hashes, 32 bytes each: for a photo hashed here, its whole picture and
    crops in each of the 8 orientations (`detector.watchlist.hashes`); for a hash-file line, that
    one hash. `pdq` is the whole picture's hash (unique per list: importing twice adds nothing).
    """

    __tablename__ = "watchlist_entry"
    __table_args__ = (UniqueConstraint("watchlist_id", "pdq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlist.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(String(20))  # photo | hash_file
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    watchlist: Mapped[Watchlist] = relationship()


class WatchlistMatch(Base):
    """A stored photo within the linking distance of a watchlist entry: `variant` names the crop
    and orientation of the listing photo and the entry's hash that met."""

    __tablename__ = "watchlist_match"
    __table_args__ = (UniqueConstraint("entry_id", "media_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watchlist_entry.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    distance: Mapped[int] = mapped_column(Integer)
    variant: Mapped[str] = mapped_column(String(120))
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[WatchlistEntry] = relationship()
