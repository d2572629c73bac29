"""missing-person watchlists: watchlist, watchlist_entry (PDQ hashes only) and watchlist_match

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'watchlist',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['partner.id'], name=op.f('fk_watchlist_owner_id_partner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist')),
        sa.UniqueConstraint('name', name=op.f('uq_watchlist_name')),
    )
    op.create_index(op.f('ix_watchlist_owner_id'), 'watchlist', ['owner_id'], unique=False)
    op.create_table(
        'watchlist_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('watchlist_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('pdq', sa.String(length=64), nullable=False),
        sa.Column('quality', sa.Integer(), nullable=False),
        sa.Column('hashes', sa.LargeBinary(), nullable=False),
        sa.Column('origin', sa.String(length=20), nullable=False),
        sa.Column('added_by', sa.String(length=200), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['watchlist_id'], ['watchlist.id'],
                                name=op.f('fk_watchlist_entry_watchlist_id_watchlist')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist_entry')),
        sa.UniqueConstraint('watchlist_id', 'pdq', name=op.f('uq_watchlist_entry_watchlist_id')),
    )
    op.create_index(op.f('ix_watchlist_entry_watchlist_id'), 'watchlist_entry', ['watchlist_id'], unique=False)
    op.create_table(
        'watchlist_match',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('media_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('distance', sa.Integer(), nullable=False),
        sa.Column('variant', sa.String(length=120), nullable=False),
        sa.Column('matched_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['watchlist_entry.id'],
                                name=op.f('fk_watchlist_match_entry_id_watchlist_entry')),
        sa.ForeignKeyConstraint(['media_id'], ['media.id'], name=op.f('fk_watchlist_match_media_id_media')),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_watchlist_match_message_id_message')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist_match')),
        sa.UniqueConstraint('entry_id', 'media_id', name=op.f('uq_watchlist_match_entry_id')),
    )
    for column in ('entry_id', 'media_id', 'message_id'):
        op.create_index(op.f(f'ix_watchlist_match_{column}'), 'watchlist_match', [column], unique=False)


def downgrade() -> None:
    op.drop_table('watchlist_match')
    op.drop_table('watchlist_entry')
    op.drop_table('watchlist')
