"""Scoring the database: one Score per message and model version; rescoring keeps history."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from detector.classify.registry import load_model, open_folder, write_folder
from detector.classify.scoring import score_unscored
from detector.cli import main
from detector.db import session_scope
from detector.ingest.analysis import analyse_pending
from detector.schema import ExportFile, Message, Score, Source

TEXTS = [
    "بنت للبيع عمرها ١٥ سنة السعر ٣٠٠٠ دولار للتواصل 07701234567",
    "Kitten for sale, 3 months old, price 50$, call 0770 765 4321",
    "",
    "Satılık kız 16 yaş fiyat 2000 dolar",
    "Good morning, market opens at 9",
]


def add_messages(engine, texts: list[str], start: int = 0) -> None:
    with session_scope(engine) as session:
        source = session.scalar(select(Source)) or Source(platform="telegram", chat_id="c1", name="market")
        export = session.scalar(select(ExportFile)) or ExportFile(
            sha256="0" * 64, name="result.json", size=1, format="telegram_json", stored_path="x")
        for i, text in enumerate(texts, start):
            raw = text.encode()
            session.add(Message(source=source, export_file=export, external_id=str(i), text=text, raw=raw,
                                raw_sha256=f"{i:064d}", sent_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))


def scores(engine) -> list[Score]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Score).order_by(Score.model_version, Score.message_id)))


def test_every_message_is_scored_once_per_model_version(engine, tiny_model_dir) -> None:
    add_messages(engine, TEXTS)
    model = load_model(tiny_model_dir)
    seen: list[int] = []
    summary = score_unscored(engine, model=model, batch_size=2, progress=seen.append)
    assert summary.scored == len(TEXTS) and seen == [2, 2, 1]
    rows = scores(engine)
    assert len(rows) == len(TEXTS) and {r.model_version for r in rows} == {model.version}
    assert summary.flagged == sum(r.flagged for r in rows)
    assert all(r.tier == "fast" and 0 <= r.probability <= 1 for r in rows)
    assert any(reason["kind"] == "ngram" for reason in rows[0].reasons)
    with session_scope(engine) as session:
        first = session.get(Message, rows[0].message_id)
        assert first.language == "ar" and any(s["type"] == "price" for s in first.signals)
    again = score_unscored(engine, model=model)
    assert again.scored == 0 and len(scores(engine)) == len(TEXTS)
    add_messages(engine, ["new message, price 10$"], start=100)
    assert score_unscored(engine, model=model).scored == 1


def test_language_already_stored_is_not_overwritten(engine, tiny_model_dir) -> None:
    add_messages(engine, TEXTS[:1])
    with session_scope(engine) as session:
        session.scalar(select(Message)).language = "xx"
    score_unscored(engine, model=load_model(tiny_model_dir))
    with session_scope(engine) as session:
        assert session.scalar(select(Message)).language == "xx"


@pytest.fixture
def other_version(tiny_model_dir, tmp_path):
    """The same weights under another version name (as a retrained model would have)."""
    folder = open_folder(tiny_model_dir)
    files = {name: (tiny_model_dir / name).read_bytes() for name in folder.card["files"] if name != "MODEL_CARD.md"}
    card = {k: v for k, v in folder.card.items() if k not in ("files", "format")}
    card["version"] = "tiny-v2"
    return write_folder(tmp_path / "v2", files, card, "# v2\n")


def test_rescoring_with_another_version_keeps_history(engine, tiny_model_dir, other_version) -> None:
    add_messages(engine, TEXTS)
    score_unscored(engine, model=load_model(tiny_model_dir))
    summary = score_unscored(engine, model=load_model(other_version))
    assert summary.scored == len(TEXTS) and summary.model_version == "tiny-v2"
    rows = scores(engine)
    assert len(rows) == 2 * len(TEXTS)
    with session_scope(engine) as session:
        per_message = session.execute(select(Score.message_id, func.count()).group_by(Score.message_id)).all()
    assert all(count == 2 for _id, count in per_message)


def test_score_command_shows_a_summary(db_url, tiny_model_dir) -> None:
    from detector.db import open_database

    engine = open_database(db_url)
    add_messages(engine, TEXTS)
    engine.dispose()
    result = CliRunner().invoke(main, ["score", "--db", db_url, "--model", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["scored"] == len(TEXTS)
    again = CliRunner().invoke(main, ["score", "--db", db_url, "--model", str(tiny_model_dir)])
    assert again.exit_code == 0 and "Scored 0 messages" in again.stdout


def test_score_with_an_altered_model_changes_nothing(engine, db_url, tiny_model_dir, tmp_path) -> None:
    add_messages(engine, TEXTS)
    copy = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "fast_tier.npz").write_bytes(b"broken")
    result = CliRunner().invoke(main, ["score", "--db", db_url, "--model", str(copy)])
    assert result.exit_code == 1 and "altered" in result.output
    assert scores(engine) == []


def test_a_message_analysed_at_ingest_scores_as_its_text_does(engine, tiny_model_dir) -> None:
    add_messages(engine, TEXTS)
    assert analyse_pending(engine) == len(TEXTS)
    model = load_model(tiny_model_dir)
    score_unscored(engine, model=model)
    fresh = model.predict(TEXTS)
    rows = scores(engine)  # in message order, as TEXTS
    assert [r.probability for r in rows] == [p.probability for p in fresh]
    assert [r.reasons for r in rows] == [p.reasons for p in fresh]


def test_scoring_reads_the_stored_signals(engine, tiny_model_dir) -> None:
    add_messages(engine, TEXTS[:1])
    analyse_pending(engine)
    with session_scope(engine) as session:
        session.scalar(select(Message)).signals = []  # as if the analysis had found nothing
    model = load_model(tiny_model_dir)
    score_unscored(engine, model=model)
    row, fresh = scores(engine)[0], model.predict(TEXTS[:1])[0]
    assert any(r["kind"] == "signal" for r in fresh.reasons)
    assert not any(r["kind"] == "signal" for r in row.reasons) and row.probability != fresh.probability


def test_a_bid_replying_to_a_listing_is_scored_with_its_thread(engine) -> None:
    """A bid means a sale only in its thread: scored alone it is no listing; as a reply to an
    auction of a person it is one, and its reasons say it was read with its thread."""
    from detector.config import SHIPPED_MODELS_DIR

    auction = "Auction tonight: two captive girls, 13 and 17, opening bid 2,000$, Raqqa, @mazad_x"
    bid = "top bid on the younger one is 4,300, anyone higher?"
    add_messages(engine, [auction, bid, bid])
    with session_scope(engine) as session:
        session.scalar(select(Message).where(Message.external_id == "1")).reply_to = "0"
    model = load_model(SHIPPED_MODELS_DIR / "default")
    score_unscored(engine, model=model)
    by_id = {s.message_id: s for s in scores(engine)}
    with session_scope(engine) as session:
        ids = {m.external_id: m.id for m in session.scalars(select(Message))}
    listing, reply, lone = by_id[ids["0"]], by_id[ids["1"]], by_id[ids["2"]]
    assert listing.flagged and reply.flagged and not lone.flagged
    assert reply.reasons[0]["kind"] == "context" and lone.reasons[0]["kind"] != "context"
