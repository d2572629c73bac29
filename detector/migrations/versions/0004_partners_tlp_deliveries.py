"""partners get a TLP maximum and can be removed; deliveries a global id; alerted items remember facts and retraction

Revision ID: 0004
Revises: 0003
"""

import uuid

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_tlp', sa.String(length=20), nullable=False, server_default='AMBER'))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.alter_column('max_tlp', existing_type=sa.String(length=20), server_default=None)

    # every delivery already queued or sent gets its own uuid4 (the old X-Delivery-Id was the row id)
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=36), nullable=True))
    bind = op.get_bind()
    delivery = sa.table('delivery', sa.column('id', sa.Integer()), sa.column('uid', sa.String(36)))
    for (delivery_id,) in bind.execute(sa.select(delivery.c.id)).all():
        bind.execute(delivery.update().where(delivery.c.id == delivery_id).values(uid=str(uuid.uuid4())))
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_delivery_uid'), ['uid'])

    with op.batch_alter_table('alerted_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('retracted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerted_message', schema=None) as batch_op:
        batch_op.drop_column('retracted_at')
        batch_op.drop_column('facts_sha256')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_delivery_uid'), type_='unique')
        batch_op.drop_column('uid')
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
        batch_op.drop_column('max_tlp')
