"""messages keep their original bytes as a span of their kept export file

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TABLES = ('message', 'message_version')


def upgrade() -> None:
    # rows stored before keep their inline `raw`; new rows store (raw_offset, raw_length) instead
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('raw_offset', sa.BigInteger(), nullable=True))
            batch_op.add_column(sa.Column('raw_length', sa.Integer(), nullable=True))
            batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    for table in TABLES:
        spans = op.get_bind().execute(sa.text(f'SELECT count(*) FROM {table} WHERE raw IS NULL')).scalar_one()
        if spans:
            raise RuntimeError(f'{table}: {spans} rows keep their bytes as export spans; 0001 cannot hold them')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=False)
            batch_op.drop_column('raw_length')
            batch_op.drop_column('raw_offset')
