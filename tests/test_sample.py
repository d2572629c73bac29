"""The bundled sample: every format, no errors, a cross-channel repost, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from detector.config import Settings
from detector.ingest.run import ingest_paths
from detector.synthetic.sample import REPOST_TEXTS, SAMPLE_DIR, build_sample
from detector.schema import ExportFile, Media, Message, Source


def test_bundled_sample_ingests_every_format_once(engine, tmp_path):
    settings = Settings(evidence_dir=tmp_path / "evidence")
    first = ingest_paths(engine, settings, [SAMPLE_DIR], analyse=False)
    assert first.errors == []
    assert first.messages_new > 300
    again = ingest_paths(engine, settings, [SAMPLE_DIR], analyse=False)
    assert (again.messages_new, again.messages_seen) == (0, first.messages_new)
    with engine.connect() as conn:
        formats = set(conn.scalars(select(ExportFile.format)))
        platforms = set(conn.scalars(select(Source.platform)))
        photos = conn.scalar(select(func.count()).select_from(Media).where(Media.status == "stored"))
        repost_channels = conn.scalar(
            select(func.count(func.distinct(Message.source_id))).where(
                Message.text.in_(REPOST_TEXTS)
            )
        )
    assert {"telegram_json", "telegram_html"} <= formats and any(f.startswith("whatsapp") for f in formats)
    assert platforms == {"telegram", "whatsapp"}
    assert photos >= 10
    assert repost_channels == 2


def test_build_sample_is_deterministic(tmp_path):
    one = build_sample(tmp_path / "one")
    two = build_sample(tmp_path / "two")
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
