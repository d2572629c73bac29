"""Accounts: argon2 password hashes, roles, login with rate limiting, per-user settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from detector.errors import ConfigError, NotFoundError, PermissionDenied
from detector.schema import LoginAddress, LoginFailure, User

from .audit import record_event
from .errors import RateLimited

ROLES = ("admin", "analyst", "reviewer")
MIN_PASSWORD_LENGTH = 8
DEFAULT_SETTINGS: dict[str, Any] = {"blur_photos": True, "break_minutes": 50, "language": "en"}  # language: i18n.LANGUAGES
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


ADDRESS_LENGTH = 100  # LoginFailure.address / LoginAddress.address
NAME_LENGTH = 200  # LoginFailure.name (a typed name may be longer than any account's)


@dataclass(frozen=True)
class FailureCounts:
    """Failed logins within the limiter's window: of this name from this address, from this
    address under any name, and of this name from any address."""

    pair: int
    address: int
    account: int


@dataclass(frozen=True)
class LoginLimiter:
    """Failed-login limits over a sliding window, counted in the database so that every server
    process shares them.

    A lock-out must not be a denial of service against a named account, so no single count
    refuses the account everywhere: `per_pair` failures of a name from one address stop that
    pair; `per_address` failures from one address under any names stop that address; and the
    slower, account-wide `per_account` (failures from every address together) refuses only
    addresses the account has not logged in from within `known_days`. A stranger rotating
    addresses thus meets the account-wide limit, while the owner still logs in from a usual address.
    """

    per_pair: int = 5
    per_address: int = 20
    per_account: int = 50
    window_seconds: float = 900
    known_days: float = 90

    def refusal(self, counts: FailureCounts, known_address: bool) -> str | None:
        """Why an attempt with these counts is refused now, or None when it may go ahead (pure)."""
        wait = f"wait {max(1, round(self.window_seconds / 60))} minutes"
        if counts.address >= self.per_address:
            return f"too many failed logins from this address; {wait}"
        if counts.pair >= self.per_pair:
            return f"too many failed logins for this account from this address; {wait}"
        if counts.account >= self.per_account and not known_address:
            return (f"too many failed logins for this account; log in from an address you have used "
                    f"before, or {wait}")
        return None

    def counts(self, session: Session, name: str, address: str, now: datetime) -> FailureCounts:
        """The failures within the window, read from the LoginFailure table."""
        since = now - timedelta(seconds=self.window_seconds)
        recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.failed_at > since)
        name, address = name[:NAME_LENGTH], address[:ADDRESS_LENGTH]
        return FailureCounts(
            pair=session.scalar(recent.where(LoginFailure.name == name, LoginFailure.address == address)) or 0,
            address=session.scalar(recent.where(LoginFailure.address == address)) or 0,
            account=session.scalar(recent.where(LoginFailure.name == name)) or 0,
        )

    def is_known(self, session: Session, user: User | None, address: str, now: datetime) -> bool:
        """Whether the account logged in from this address within `known_days`."""
        if user is None:
            return False
        since = now - timedelta(days=self.known_days)
        return session.scalar(select(LoginAddress.user_id).where(
            LoginAddress.user_id == user.id, LoginAddress.address == address[:ADDRESS_LENGTH],
            LoginAddress.last_login_at > since)) is not None

    def check(self, session: Session, name: str, user: User | None, address: str, now: datetime) -> None:
        """Raise RateLimited when this attempt must wait."""
        reason = self.refusal(self.counts(session, name, address, now), self.is_known(session, user, address, now))
        if reason:
            raise RateLimited(reason)

    def failed(self, session: Session, name: str, address: str, now: datetime) -> None:
        """Count a failure (and forget failures older than the window)."""
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - timedelta(seconds=self.window_seconds)))
        session.add(LoginFailure(name=name[:NAME_LENGTH], address=address[:ADDRESS_LENGTH], failed_at=now))

    def succeeded(self, session: Session, user: User, name: str, address: str, now: datetime) -> None:
        """Remember the address as the account's, and forget this pair's failures (a typo)."""
        address = address[:ADDRESS_LENGTH]
        session.execute(delete(LoginFailure).where(LoginFailure.name == name[:NAME_LENGTH], LoginFailure.address == address))
        known = session.get(LoginAddress, (user.id, address))
        if known is None:
            session.add(LoginAddress(user_id=user.id, address=address, last_login_at=now))
        else:
            known.last_login_at = now


def authenticate(session: Session, limiter: LoginLimiter, name: str, password: str, address: str) -> User | None:
    """The user when name and password match (audited either way); None otherwise.
    RateLimited (nothing recorded, password not tried) when the limiter refuses the attempt."""
    now = datetime.now(timezone.utc)
    user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    limiter.check(session, name, user, address, now)
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        limiter.failed(session, name, address, now)
        record_event(session, name[:200], "login_failed", "user", user.id if user else "-", None, {"address": address})
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    limiter.succeeded(session, user, name, address, now)
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
