"""recall audits: the audit_sample table (stratified samples of unflagged messages, with weights)

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('band', sa.String(length=30), nullable=False),
    sa.Column('stratum_size', sa.Integer(), nullable=False),
    sa.Column('stratum_sampled', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_audit_sample_message_id_message')),
    sa.ForeignKeyConstraint(['score_id'], ['score.id'], name=op.f('fk_audit_sample_score_id_score')),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_audit_sample_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_sample')),
    sa.UniqueConstraint('round', 'message_id', name=op.f('uq_audit_sample_round'))
    )
    op.create_index(op.f('ix_audit_sample_message_id'), 'audit_sample', ['message_id'], unique=False)
    op.create_index(op.f('ix_audit_sample_round'), 'audit_sample', ['round'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_sample_round'), table_name='audit_sample')
    op.drop_index(op.f('ix_audit_sample_message_id'), table_name='audit_sample')
    op.drop_table('audit_sample')
