"""Shared fixtures: real databases (SQLite files; PostgreSQL when DETECTOR_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from detector.db import open_database

POSTGRES_URL = os.environ.get("DETECTOR_TEST_POSTGRES_URL", "")


def _fresh_postgres_database() -> Iterator[str]:
    """Create an empty database on the test server; drop it afterwards."""
    name = f"detector_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of an empty database: SQLite, and PostgreSQL too when a server is configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/detector.db"
        return
    if not POSTGRES_URL:
        pytest.skip("DETECTOR_TEST_POSTGRES_URL not set")
    yield from _fresh_postgres_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A URL of an empty SQLite database file (for tests that need only one backend)."""
    return f"sqlite:///{tmp_path}/detector.db"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on every configured backend."""
    eng = open_database(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = open_database(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A small fast-tier-only model trained once per session on a corpus sample (classifier tests)."""
    from classify_support import train_tiny_model

    return train_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="session")
def sample_world_template(tmp_path_factory):
    """The bundled sample ingested once, with confirmed and reviewed listings (reports and alerts tests)."""
    from reports_support import build_world

    folder = tmp_path_factory.mktemp("world")
    return build_world(f"sqlite:///{folder / 'detector.db'}", folder / "evidence")


@pytest.fixture
def world(sample_world_template, tmp_path):
    """A private copy of the sample world for one test (SQLite)."""
    from reports_support import copy_world

    return copy_world(sample_world_template, tmp_path / "world")
