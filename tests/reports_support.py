"""Builders for the referral and alert tests: the bundled sample ingested through the real store,
scores, and decisions by an analyst and a reviewer added through the ORM."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, select

from detector.config import Settings
from detector.db import open_database, session_scope
from detector.ingest.run import ingest_paths
from detector.synthetic.sample import HOSTILE_TEXT, REPOST_TEXTS, SAMPLE_DIR
from detector.schema import Label, Message, Score, User

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
ANALYST, REVIEWER = "amira", "rustam"


@dataclass
class World:
    """A database with the sample ingested, and the ids tests refer to."""

    url: str
    evidence_dir: Path
    reposts: list[int]  # the same Arabic listing (a minor) in two channels, with photos
    persian: int  # a Persian domestic-worker transfer from the WhatsApp zip
    hostile: int  # a message with markup and script in it
    unconfirmed: int  # a listing only an analyst has confirmed

    @property
    def settings(self) -> Settings:
        return Settings(database_url=self.url, evidence_dir=self.evidence_dir, actor="tester")


def add_user(session, name: str, role: str) -> User:  # type: ignore[no-untyped-def]
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role, password_hash="not-used")
        session.add(user)
        session.flush()
    return user


def decide(engine: Engine, message_id: int, name: str, role: str, decision: str = "listing",
           tags: tuple[str, ...] = (), at: datetime = T0) -> None:
    """A Label as the queue writes it (score, tags, time)."""
    with session_scope(engine) as s:
        user = add_user(s, name, "analyst" if role == "analyst" else "reviewer")
        score_id = s.scalar(select(Score.id).where(Score.message_id == message_id))
        s.add(Label(message_id=message_id, user_id=user.id, role=role, decision=decision, tags=list(tags),
                    score_id=score_id, created_at=at))


def confirm(engine: Engine, message_id: int, tags: tuple[str, ...] = ()) -> None:
    """An analyst and then a reviewer confirm the message as a listing."""
    decide(engine, message_id, ANALYST, "analyst", tags=tags, at=T0)
    decide(engine, message_id, REVIEWER, "reviewer", at=T0 + timedelta(hours=1))


def build_world(url: str, evidence_dir: Path) -> World:
    engine = open_database(url)
    summary = ingest_paths(engine, Settings(database_url=url, evidence_dir=evidence_dir, actor="ingester"), [SAMPLE_DIR])
    assert summary.errors == []
    with session_scope(engine) as s:
        reposts = sorted(s.scalars(select(Message.id).where(Message.text.in_(REPOST_TEXTS))))
        hostile = s.scalar(select(Message.id).where(Message.text == HOSTILE_TEXT))
        persian = s.scalar(select(Message.id).where(Message.language == "fa", Message.text.contains("واگذاری"))
                           .order_by(Message.id).limit(1))
        unconfirmed = s.scalar(select(Message.id).where(Message.language == "ckb").order_by(Message.id).limit(1))
        for mid in [*reposts, hostile, persian, unconfirmed]:
            s.add(Score(message_id=mid, model_version="fast-test-1", probability=0.93, flagged=True, tier="fast",
                        reasons=[], created_at=T0 - timedelta(days=1)))
    for mid in reposts:
        confirm(engine, mid, tags=("minor",))
    confirm(engine, persian, tags=("domestic_worker",))
    confirm(engine, hostile)
    decide(engine, unconfirmed, ANALYST, "analyst")
    engine.dispose()
    return World(url, evidence_dir, reposts, persian, hostile, unconfirmed)


def copy_world(template: World, folder: Path) -> World:
    """A private copy of a SQLite world (database file and evidence store)."""
    source = Path(template.url.removeprefix("sqlite:///"))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, folder / "detector.db")
    shutil.copytree(template.evidence_dir, folder / "evidence", symlinks=False)
    return World(f"sqlite:///{folder / 'detector.db'}", folder / "evidence", template.reposts, template.persian,
                 template.hostile, template.unconfirmed)
