"""Alembic environment: runs against the engine handed in by detector.db.

On SQLite a batch migration rebuilds a table (copy, drop, rename), which foreign
keys would refuse while other tables point at it: they are switched off for the
migration (outside any transaction, where SQLite honours the switch), every
reference is checked after it, and they are switched back on.
"""

from alembic import context

from detector.errors import ConfigError
from detector.schema import Base
from detector.search.index import is_fts_table

config = context.config
engine = config.attributes["engine"]
NOT_OURS = {"apscheduler_jobs"}  # the scheduler's job store keeps its own table


def include_name(name, type_, parent_names):
    return not (type_ == "table" and (name in NOT_OURS or is_fts_table(name)))


def run(connection):
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        run(connection)
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
        if broken:  # raised before the commit: the migration is rolled back
            raise ConfigError(f"a migration would leave {len(broken)} broken references (first: {broken[0]}); "
                              "nothing was changed")
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()  # nothing is left open, so SQLite honours the switch
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
