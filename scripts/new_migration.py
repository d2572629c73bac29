"""Write the next Alembic migration from the difference between the ORM models and the newest migration.

Run after changing detector/schema.py (every table lives there), then read and adjust what it wrote:
    python scripts/new_migration.py "what changed"
"""

import sys
import tempfile

from alembic import command
from alembic.script import ScriptDirectory

from detector.db import alembic_config, make_engine, upgrade


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/newest.db")
        upgrade(engine)  # the schema as the existing migrations leave it
        config = alembic_config(engine)
        head = ScriptDirectory.from_config(config).get_current_head()
        script = command.revision(config, message=sys.argv[1], autogenerate=True, rev_id=f"{int(head) + 1:04d}")
    print(f"wrote {script.path}")


if __name__ == "__main__":
    main()
