"""Demo logins for `detector demo` (local use only: the passwords are printed in the README)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from detector.db import session_scope
from detector.schema import User

from .accounts import add_user, password_matches

DEMO_USERS = (
    ("analyst", "analyst", "analyst-demo-pass"),
    ("analyst2", "analyst", "analyst2-demo-pass"),
    ("reviewer", "reviewer", "reviewer-demo-pass"),
    ("admin", "admin", "admin-demo-pass"),
)


def ensure_demo_users(engine: Engine) -> list[tuple[str, str, str]]:
    """Create the demo accounts that do not exist yet; returns (name, role, password) for each."""
    with session_scope(engine) as session:
        existing = set(session.scalars(select(User.name)))
        for name, role, password in DEMO_USERS:
            if name not in existing:
                add_user(session, name, role, password, actor="demo")
    return list(DEMO_USERS)


def demo_accounts_in_use(engine: Engine) -> list[str]:
    """Names of active accounts that still have their published demo password."""
    passwords = {name: password for name, _, password in DEMO_USERS}
    with session_scope(engine) as session:
        users = session.scalars(select(User).where(User.name.in_(passwords), User.active.is_(True)).order_by(User.name))
        return [user.name for user in users if password_matches(user, passwords[user.name])]
