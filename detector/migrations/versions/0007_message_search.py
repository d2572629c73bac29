"""full-text search over message text (message_search + SQLite FTS5 or PostgreSQL GIN), exact queue priority

Revision ID: 0007
Revises: 0005

`message_search` holds each message's searchable words (normalised text and phone digits,
`detector.search.terms.body_of`), backfilled here for every stored message. SQLite indexes it
with the FTS5 table `message_fts` (external content, kept by three triggers), PostgreSQL with
a GIN index on to_tsvector('simple', body). Queue priorities are recomputed from the exact
score (they were 0.1-wide bands).
"""

from alembic import op
import sqlalchemy as sa

from detector.search.terms import body_of


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None

BATCH = 2000
MINOR_BOOST = 0.3  # labeling.queue.MINOR_BOOST when this migration was written
FTS_TRIGGERS = {
    'message_search_ai': "AFTER INSERT ON message_search BEGIN "
                         "INSERT INTO message_fts(rowid, body) VALUES (new.message_id, new.body); END",
    'message_search_ad': "AFTER DELETE ON message_search BEGIN "
                         "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.message_id, old.body); END",
    'message_search_au': "AFTER UPDATE ON message_search BEGIN "
                         "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.message_id, old.body); "
                         "INSERT INTO message_fts(rowid, body) VALUES (new.message_id, new.body); END",
}
message = sa.table('message', sa.column('id', sa.Integer), sa.column('text', sa.Text), sa.column('signals', sa.JSON))
message_search = sa.table('message_search', sa.column('message_id', sa.Integer), sa.column('body', sa.Text))


def _backfill(conn: sa.Connection) -> None:
    last = 0
    while True:
        rows = conn.execute(sa.select(message.c.id, message.c.text, message.c.signals)
                            .where(message.c.id > last).order_by(message.c.id).limit(BATCH)).all()
        if not rows:
            return
        conn.execute(message_search.insert(), [{'message_id': r.id, 'body': body_of(r.text, r.signals)} for r in rows])
        last = rows[-1].id


def upgrade() -> None:
    op.create_table('message_search',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_search_message_id_message')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_message_search'))
    )
    conn = op.get_bind()
    _backfill(conn)
    if conn.dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE message_fts USING fts5(body, content='message_search', "
                   "content_rowid='message_id', tokenize='unicode61 remove_diacritics 0')")
        op.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
        for name, body in FTS_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute("CREATE INDEX ix_message_search_tsv ON message_search USING gin (to_tsvector('simple', body))")
    op.execute(f"UPDATE queue_item SET priority = probability + CASE WHEN minor THEN {MINOR_BOOST} ELSE 0 END")


def downgrade() -> None:
    # exact priorities stay: they order the same way under 0006's code
    if op.get_bind().dialect.name == 'sqlite':
        for name in FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE message_fts")
    op.drop_table('message_search')
