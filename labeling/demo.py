"""Demo logins for `detector demo` (local use only: the passwords are printed in the README)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from detector.db import session_scope
from detector.schema import User

from .accounts import add_user

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
