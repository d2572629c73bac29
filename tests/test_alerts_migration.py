"""Migration 0004 keeps partners, deliveries and alerted items, and gives each delivery its own uuid4."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import text

from detector.db import alembic_config, make_engine, upgrade


def test_upgrade_gives_old_deliveries_unique_ids_and_keeps_everything(db_url):
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0003")
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO partner (id, name, channel, address, secret, languages, places, min_severity, "
                          "active, created_at) VALUES (1, 'Old NGO', 'webhook', 'https://ngo.test/hook', "
                          "'a-plain-old-secret-123', '[]', '[]', 'low', :t, :now)"), {"t": True, "now": now})
        for n in (1, 2):
            conn.execute(text("INSERT INTO delivery (id, partner_id, key, kind, body, status, attempts, "
                              "next_attempt_at, created_at) VALUES (:n, 1, :key, 'immediate', '{}', 'sent', 1, :now, :now)"),
                         {"n": n, "key": f"immediate:{n}", "now": now})
    upgrade(engine)
    with engine.connect() as conn:
        partner = conn.execute(text("SELECT name, secret, max_tlp, removed_at FROM partner")).one()
        uids = conn.execute(text("SELECT uid FROM delivery ORDER BY id")).scalars().all()
    assert tuple(partner) == ("Old NGO", "a-plain-old-secret-123", "AMBER", None)
    assert len(set(uids)) == 2 and all(uuid.UUID(u).version == 4 for u in uids)
    engine.dispose()
