"""Rewrite the initial migration from the ORM models (pre-release: one migration from empty).

Run after changing detector/schema.py (every table lives there):
    python scripts/regenerate_migration.py
"""

import tempfile
from pathlib import Path

from alembic import command

from detector.db import MIGRATIONS_DIR, alembic_config, make_engine

VERSIONS = MIGRATIONS_DIR / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/empty.db")
        command.revision(
            alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001"
        )
    made = next(VERSIONS.glob("0001_*.py"))
    made.rename(VERSIONS / "0001_initial_schema.py")
    print(f"wrote {VERSIONS / '0001_initial_schema.py'}")


if __name__ == "__main__":
    main()
