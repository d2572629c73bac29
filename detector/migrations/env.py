"""Alembic environment: runs against the engine handed in by detector.db."""

from alembic import context

from detector.schema import Base

config = context.config
engine = config.attributes["engine"]
NOT_OURS = {"apscheduler_jobs"}  # the scheduler's job store keeps its own table


def include_name(name, type_, parent_names):
    return not (type_ == "table" and name in NOT_OURS)


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
    )
    context.run_migrations()
