"""the login limiter in the database (failed logins, the addresses each account logs in from);
the whole length of a message text cut to the configured cap

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=100), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    op.create_index('ix_login_failure_address', 'login_failure', ['address', 'failed_at'], unique=False)
    op.create_index(op.f('ix_login_failure_failed_at'), 'login_failure', ['failed_at'], unique=False)
    op.create_index('ix_login_failure_name', 'login_failure', ['name', 'failed_at'], unique=False)
    op.create_table('login_address',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=100), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_login_address_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', 'address', name=op.f('pk_login_address'))
    )
    for table in ('message', 'message_version'):  # NULL for every stored row: their texts are whole
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('text_length', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ('message', 'message_version'):
        cut = op.get_bind().execute(sa.text(f'SELECT count(*) FROM {table} WHERE text_length IS NOT NULL')).scalar_one()
        if cut:
            raise RuntimeError(f'{table}: {cut} rows hold a cut text; 0004 cannot say so')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('text_length')
    op.drop_table('login_address')
    op.drop_index('ix_login_failure_name', table_name='login_failure')
    op.drop_index(op.f('ix_login_failure_failed_at'), table_name='login_failure')
    op.drop_index('ix_login_failure_address', table_name='login_failure')
    op.drop_table('login_failure')
