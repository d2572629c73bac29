"""Accounts: argon2 password hashes, roles, login with rate limiting, per-user settings."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.errors import ConfigError, NotFoundError, PermissionDenied
from detector.schema import User

from .audit import record_event
from .errors import RateLimited

ROLES = ("admin", "analyst", "reviewer")
MIN_PASSWORD_LENGTH = 8
DEFAULT_SETTINGS: dict[str, Any] = {"blur_photos": True, "break_minutes": 50}
_hasher = PasswordHasher()
# A hash to verify against when the name is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not a real password")


def label_role(user: User) -> str:
    """The role a user's decisions carry: 'reviewer' for reviewers and admins, else 'analyst'."""
    return "analyst" if user.role == "analyst" else "reviewer"


def may_act_as(user: User, role: str) -> bool:
    """Analysts decide as analysts only; reviewers as reviewers; admins as either."""
    return user.role == "admin" or label_role(user) == role


def require_reviewer(user: User) -> None:
    if not may_act_as(user, "reviewer"):
        raise PermissionDenied(f"{user.name} is an analyst and cannot act as a reviewer")


def user_settings(user: User) -> dict[str, Any]:
    """The user's preferences, defaults filled in."""
    return {**DEFAULT_SETTINGS, **{k: v for k, v in (user.settings or {}).items() if k in DEFAULT_SETTINGS}}


def add_user(session: Session, name: str, role: str, password: str, actor: str) -> User:
    """Create an account; the name must be new, the role known, the password long enough."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ConfigError("a user name must have 1 to 100 characters")
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise ConfigError(f"a user named {name!r} already exists")
    user = User(name=name, role=role, password_hash=_hasher.hash(password), settings={})
    session.add(user)
    session.flush()
    record_event(session, actor, "user_add", "user", user.id, None, {"name": name, "role": role})
    return user


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's password (no audit, no rate limit: for local checks)."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFoundError(f"no active user with id {user_id}")
    return user


class LoginLimiter:
    """Failed logins per user name and per address in a sliding window (in memory, thread-safe)."""

    def __init__(self, per_user: int = 5, per_address: int = 20, window_seconds: float = 900) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> int:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times)

    def check(self, name: str, address: str) -> None:
        """Raise RateLimited when this name or address has failed too often lately."""
        now = time.monotonic()
        with self._lock:
            if self._recent(f"user:{name}", now) >= self.per_user:
                raise RateLimited("too many failed logins for this account; wait 15 minutes")
            if self._recent(f"addr:{address}", now) >= self.per_address:
                raise RateLimited("too many failed logins from this address; wait 15 minutes")

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures[f"user:{name}"].append(now)
            self._failures[f"addr:{address}"].append(now)


def authenticate(session: Session, limiter: LoginLimiter, name: str, password: str, address: str) -> User | None:
    """The user when name and password match (audited either way); None otherwise."""
    limiter.check(name, address)
    user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        limiter.failed(name, address)
        record_event(session, name[:200], "login_failed", "user", user.id if user else "-", None, {"address": address})
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    record_event(session, user.name, "login", "user", user.id, None, {"address": address})
    return user


def change_settings(session: Session, user: User, changes: dict[str, Any]) -> None:
    """Update a user's preferences, auditing the values before and after."""
    before = user_settings(user)
    after = {**before, **changes}
    if after == before:
        return
    user.settings = {**(user.settings or {}), **after}
    record_event(session, user.name, "settings_change", "user", user.id, before, after)
