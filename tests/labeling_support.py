"""Builders for the labelling queue tests: rows made directly through the ORM (real databases)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from detector.db import session_scope
from detector.schema import ExportFile, Media, Message, Score, Source, User

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


@dataclass
class Item:
    """One synthetic message to store, with its score."""

    text: str
    probability: float = 0.9
    flagged: bool = True
    language: str = "en"
    signals: list[dict[str, Any]] = field(default_factory=list)
    minutes: int = 0  # sent T0 + minutes
    channel: str = "market"


def age_signal(text: str, age: int) -> dict[str, Any]:
    """An age signal over the first occurrence of str(age) in `text`."""
    start = text.index(str(age))
    return {"type": "age", "subtype": None, "value": {"min": age, "max": age, "minor": age < 18},
            "start": start, "end": start + len(str(age)), "text": str(age)}


def store_items(engine: Engine, items: Sequence[Item], model_version: str = "test-1") -> list[int]:
    """Store the messages (one source per channel name) with one Score each; returns message ids."""
    ids = []
    with session_scope(engine) as s:
        export = ExportFile(sha256=hashlib.sha256(repr(items).encode()).hexdigest(), name="export.json",
                            size=1, format="telegram_json", stored_path="exports/x")
        s.add(export)
        sources: dict[str, Source] = {}
        for n, item in enumerate(items):
            if item.channel not in sources:
                sources[item.channel] = Source(platform="telegram", chat_id=f"chat-{item.channel}", name=item.channel)
                s.add(sources[item.channel])
            raw = item.text.encode()
            message = Message(source=sources[item.channel], external_id=f"{export.sha256[:8]}-{n}", export_file=export,
                              sent_at=T0 + timedelta(minutes=item.minutes), text=item.text, raw=raw,
                              raw_sha256=hashlib.sha256(raw).hexdigest(), language=item.language,
                              signals=item.signals, sender_name="seller")
            s.add(message)
            s.flush()
            s.add(Score(message_id=message.id, model_version=model_version, probability=item.probability,
                        flagged=item.flagged, tier="fast",
                        reasons=[{"kind": "ngram", "feature": item.text[:6], "weight": 1.5}]))
            ids.append(message.id)
    return ids


def add_photo(engine: Engine, evidence_dir, message_id: int, data: bytes, mime: str = "image/png") -> int:
    """Store photo bytes in the evidence store (content addressed) and a Media row; returns its id."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"media/{digest[:2]}/{digest}"
    path = evidence_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with session_scope(engine) as s:
        media = Media(message_id=message_id, kind="photo", rel_path="photos/p.jpg", status="stored",
                      sha256=digest, size=len(data), mime=mime, stored_path=rel)
        s.add(media)
        s.flush()
        return media.id


@functools.cache
def _password_hash() -> str:
    """One real argon2 hash of PASSWORD, made once: hashing takes about half a second."""
    return PasswordHasher().hash(PASSWORD)


def make_users(engine: Engine, *specs: tuple[str, str]) -> None:
    """Accounts with PASSWORD (`add_user` itself is tested through `detector users add`)."""
    with session_scope(engine) as s:
        for name, role in specs:
            s.add(User(name=name, role=role, password_hash=_password_hash(), settings={}))


def csrf_of(client: TestClient, page: str = "/login") -> str:
    """The CSRF token the session's pages carry (read from the page's meta tag)."""
    html = client.get(page).text
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def client_for(app: Any, name: str) -> TestClient:
    """A client of `app` logged in as `name`."""
    client = TestClient(app)
    assert login(client, name).status_code == 303
    return client
