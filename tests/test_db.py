"""The schema migrates from empty on every backend and matches the ORM models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from detector.db import is_current, open_database, upgrade
from detector.schema import Base


def test_migration_from_empty_matches_models(engine):
    assert is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(engine):
    upgrade(engine)
    assert is_current(engine)


def test_sqlite_uses_wal_and_foreign_keys(sqlite_url):
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
