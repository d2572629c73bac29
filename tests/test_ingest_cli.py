"""`detector ingest` end to end: every format, idempotence, edits, and every bad input of issue 2."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.db import open_database
from detector.hashing import sha256_bytes
from detector.ingest import run
from detector.ingest.evidence import EvidenceStore, release_cache
from detector.ingest.originals import original_bytes
from detector.schema import ExportFile, Media, Message, MessageVersion, Source
from ingest_fixtures import (
    JPEG,
    counts,
    edited,
    histories,
    ingest_json,
    make_zip,
    messages,
    run_cli,
    telegram_html,
    telegram_json,
    whatsapp_txt,
    whatsapp_zip,
)

EXPECTED = "expected a Telegram Desktop export (result.json or messages.html) or a WhatsApp chat (.txt)"


@pytest.fixture
def db(db_url):
    engine = open_database(db_url)
    yield db_url, engine
    engine.dispose()


@pytest.mark.parametrize("release_bytes", [run.RELEASE_BYTES, 1])  # 1: the page cache released after every read
def test_every_format_is_stored_with_its_evidence(db, tmp_path, monkeypatch, release_bytes):
    monkeypatch.setattr(run, "RELEASE_BYTES", release_bytes)
    db_url, engine = db
    inbox = tmp_path / "inbox"
    tg = telegram_json(inbox / "tg", messages(5, photo_at=2))
    pages = telegram_html(inbox / "html", messages(7), per_page=3)
    wa_zip = whatsapp_zip(inbox / "WhatsApp Chat - Pets.zip", messages(4, photo_at=1))
    wa_txt = whatsapp_txt(inbox / "WhatsApp Chat with Tools.txt", messages(3))
    evidence = tmp_path / "evidence"

    result, summary = ingest_json(db_url, evidence, inbox)

    assert result.exit_code == 0, result.stderr
    # 4 WhatsApp messages + the encryption notice in the zip, 3 + notice in the txt
    assert summary == {"files": 6, "messages_new": 5 + 7 + 5 + 4, "messages_seen": 0, "errors": []}
    with Session(engine) as session:
        sources = {(s.platform, s.name): s.id for s in session.scalars(select(Source))}
        assert set(sources) == {("telegram", "Market"), ("telegram", "Html market"), ("whatsapp", "Pets"),
                                ("whatsapp", "Tools")}
        files = session.scalars(select(ExportFile).order_by(ExportFile.name)).all()
        assert [f.name for f in files] == [
            f"{wa_zip}/_chat.txt", str(wa_txt), *(str(p) for p in pages), str(tg)]
        store = EvidenceStore(evidence)
        originals = {str(tg): tg.read_bytes(), str(wa_txt): wa_txt.read_bytes(),
                     f"{wa_zip}/_chat.txt": zipfile.ZipFile(wa_zip).read("_chat.txt")}
        originals.update({str(p): p.read_bytes() for p in pages})
        for file in files:  # every export kept byte for byte under its SHA-256
            kept = store.path_of(file.stored_path).read_bytes()
            assert kept == originals[file.name] and sha256_bytes(kept) == file.sha256 == file.stored_path[3:67]
        media = session.scalars(select(Media).where(Media.status == "stored")).all()
        assert len(media) >= 2 and {m.sha256 for m in media} == {sha256_bytes(JPEG)}
        assert {m.mime for m in media} == {"image/jpeg"}
        assert store.path_of(media[0].stored_path).read_bytes() == JPEG
        message = session.scalars(select(Message).where(Message.source_id == sources[("telegram", "Market")],
                                                        Message.external_id == "3")).one()
        assert message.text == messages(5)[2].text and original_bytes(store, message) in tg.read_bytes()
        for stored in session.scalars(select(Message)):  # every message's bytes: a span of its kept export
            assert stored.raw is None and sha256_bytes(original_bytes(store, stored)) == stored.raw_sha256
        assert [m.status for m in message.media] == ["stored"]


def test_releasing_the_page_cache_leaves_the_bytes_and_other_streams_alone(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b"x" * 100_000)
    with open(path, "rb") as stream:
        assert stream.read(4096) == b"x" * 4096
        release_cache(stream, 4096)
        assert stream.read() == b"x" * (100_000 - 4096)  # reading goes on where it was
        release_cache(stream)
    assert path.read_bytes() == b"x" * 100_000
    release_cache(io.BytesIO(b"no file behind it"))  # nothing to release, no error


def test_same_files_twice_add_nothing(db, tmp_path):
    db_url, engine = db
    tg = telegram_json(tmp_path / "tg", messages(6, photo_at=0))
    wa = whatsapp_zip(tmp_path / "chat.zip", messages(3, photo_at=2))
    first, _ = ingest_json(db_url, tmp_path / "ev", tg, wa)
    before = counts(engine, Message, MessageVersion, Media, ExportFile, Source)
    result, summary = ingest_json(db_url, tmp_path / "ev", tg, wa)
    assert result.exit_code == 0
    assert summary == {"files": 2, "messages_new": 0, "messages_seen": 10, "errors": []}
    assert counts(engine, Message, MessageVersion, Media, ExportFile, Source) == before


def test_later_export_adds_only_new_messages_and_keeps_edits(db, tmp_path):
    db_url, engine = db
    early = messages(5)
    ingest_json(db_url, tmp_path / "ev", telegram_json(tmp_path / "early", early))
    later = edited(messages(8), 1, "Used phone, price lowered to 90 USD")

    result, summary = ingest_json(db_url, tmp_path / "ev", telegram_json(tmp_path / "later", later))

    assert summary == {"files": 1, "messages_new": 3, "messages_seen": 5, "errors": []}
    assert counts(engine, Message, ExportFile) == (8, 2)
    history = histories(engine)
    assert sum(map(len, history.values())) == 9
    assert history["2"] == [(1, early[1].text), (2, "Used phone, price lowered to 90 USD")]
    with Session(engine) as session:
        message = session.scalars(select(Message).where(Message.external_id == "2")).one()
        assert message.text == "Used phone, price lowered to 90 USD" and message.edited_at is not None


def _truncated(tmp: Path) -> Path:
    good = telegram_json(tmp / "t", messages(6)).read_bytes()
    path = tmp / "truncated.json"
    path.write_bytes(good[: len(good) // 2])
    return path


def _bad_utf8(tmp: Path) -> Path:
    path = telegram_json(tmp / "u", messages(6))
    path.write_bytes(path.read_bytes().replace(b"Goat for sale", b"Goat \xff\xfe sale"))
    return path


def _page(tmp: Path) -> Path:
    path = tmp / "shop.html"
    path.write_bytes(b"<!DOCTYPE html><html><head><title>Shop</title></head><body><p>Kittens</p></body></html>")
    return path


def _escaping_zip(tmp: Path) -> Path:
    chat = (tmp / "c.txt")
    whatsapp_txt(chat, messages(2))
    return make_zip(tmp / "escape.zip", {"_chat.txt": chat.read_bytes(), "../../evil.jpg": JPEG})


def _bomb(tmp: Path) -> Path:
    chat = (tmp / "c.txt")
    whatsapp_txt(chat, messages(2))
    return make_zip(tmp / "bomb.zip", {"_chat.txt": chat.read_bytes() + b" " * (24 << 20)})


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.json"
    path.write_bytes(b"")
    return path


def _media_outside(tmp: Path) -> Path:
    (tmp / "secret.jpg").write_bytes(JPEG)
    path = telegram_json(tmp / "export", messages(4, photo_at=3))
    data = path.read_bytes()
    photo = next(p for p in (tmp / "export" / "photos").iterdir())
    path.write_bytes(data.replace(f'"photos/{photo.name}"'.encode(), b'"../secret.jpg"'))
    return path


BAD_INPUTS = {
    "truncated JSON": (_truncated, "file ends early: the JSON stops inside the messages list (after 2 messages)"),
    "invalid UTF-8": (_bad_utf8, "not UTF-8 text (invalid byte at {offset}); " + EXPECTED),
    "HTML page that is no export": (_page, "an HTML page that is not a Telegram export; " + EXPECTED),
    "zip escaping its folder": (_escaping_zip, "member '../../evil.jpg' points outside the export"),
    "zip bomb": (_bomb, "member '_chat.txt' expands more than 200 times its compressed size (zip bomb?)"),
    "0-byte file": (_empty, "empty file: " + EXPECTED),
    "media path outside the export": (_media_outside, "media path '../secret.jpg' points outside the export; refused"),
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_is_one_clear_line_and_harms_nothing(db, tmp_path, kind):
    db_url, engine = db
    evidence = tmp_path / "evidence"
    stored = telegram_json(tmp_path / "stored", messages(4, photo_at=1), chat_id=7)
    ingest_json(db_url, evidence, stored)
    with engine.connect() as conn:
        before = conn.execute(select(Message.id, Message.text, Message.raw_sha256).order_by(Message.id)).all()
    blobs_before = sorted(p.name for p in evidence.rglob("*") if p.is_file())
    make, problem = BAD_INPUTS[kind]
    (tmp_path / "bad").mkdir()
    bad = make(tmp_path / "bad")
    good = whatsapp_txt(tmp_path / "WhatsApp Chat with Tools.txt", messages(3))
    if "{offset}" in problem:
        offset = bad.read_bytes().index(b"\xff")
        problem = problem.format(offset=f"{offset:,}")

    result, summary = ingest_json(db_url, evidence, bad, good)

    line = f"{bad}: {problem}"
    assert result.exit_code == 1
    assert summary == {"files": 1, "messages_new": 4, "messages_seen": 0, "errors": [line]}
    assert result.stderr.splitlines()[-1] == f"error: {line}"
    assert "Traceback" not in result.stderr
    with engine.connect() as conn:
        assert conn.execute(select(ExportFile.name).order_by(ExportFile.id)).scalars().all() == [str(stored), str(good)]
        after = conn.execute(select(Message.id, Message.text, Message.raw_sha256).where(Message.id <= before[-1].id)
                             .order_by(Message.id)).all()
    assert after == before
    blobs_after = sorted(p.name for p in evidence.rglob("*") if p.is_file())
    assert len(blobs_after) == len(blobs_before) + 1  # only the good WhatsApp export was added


def test_missing_path_and_unknown_timezone(db, tmp_path):
    db_url, _ = db
    result = run_cli(["ingest", "--db", db_url, "--json", "--no-analyse", str(tmp_path / "nope.json")], tmp_path)
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        f'{{"files": 0, "messages_new": 0, "messages_seen": 0, "errors": ["{tmp_path}/nope.json: no such file or folder"]}}'
    )
    result = run_cli(["ingest", "--db", db_url, "--timezone", "Mars/Olympus", str(tmp_path)], tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: unknown time zone 'Mars/Olympus': use an IANA name such as Asia/Baghdad"


def test_summary_table_and_progress(db, tmp_path):
    db_url, _ = db
    tg = telegram_json(tmp_path / "tg", messages(3))
    result = run_cli(["ingest", "--db", db_url, "--no-analyse", str(tg)], tmp_path / "ev")
    assert result.exit_code == 0
    assert "Ingest summary" in result.stdout
    row = [line for line in result.stdout.splitlines() if "│" in line][-1]
    assert [cell.strip() for cell in row.strip("│").split("│")] == ["1", "3", "0", "0", "0", "0"]


def test_new_and_edited_messages_get_language_and_signals(db, tmp_path):
    db_url, engine = db
    evidence = tmp_path / "ev"
    early = messages(3)
    result = run_cli(["ingest", "--db", db_url, "--json", str(telegram_json(tmp_path / "a", early))], evidence)
    assert result.exit_code == 0, result.stderr
    with engine.connect() as conn:
        rows = conn.execute(select(Message.external_id, Message.language, Message.signals)).all()
    assert len(rows) == 3 and {r.language for r in rows} == {"en"}
    prices = {r.external_id: [s["value"] for s in r.signals if s["type"] == "price"] for r in rows}
    assert prices["1"] == [{"amount": 50.0, "currency": "USD"}]

    later = edited(early, 0, "Kitten, 2 months, now 35 USD")
    run_cli(["ingest", "--db", db_url, str(telegram_json(tmp_path / "b", later))], evidence)
    with engine.connect() as conn:
        signals = conn.execute(select(Message.signals).where(Message.external_id == "1")).scalar_one()
    assert [s["value"] for s in signals if s["type"] == "price"] == [{"amount": 35.0, "currency": "USD"}]


def test_zipped_telegram_exports_with_their_media(db, tmp_path):
    db_url, engine = db
    folder = tmp_path / "ChatExport_2024-03-01"
    result_json = telegram_json(folder, messages(4, photo_at=0))
    photo = next((folder / "photos").iterdir())
    pages = telegram_html(tmp_path / "html", messages(5), per_page=2)
    members = {f"ChatExport_2024-03-01/{p.relative_to(folder)}": p.read_bytes() for p in (result_json, photo)}
    members.update({f"html/{p.name}": p.read_bytes() for p in pages})
    members["html/notes.txt"] = b"a text file that is not an export"
    archive = make_zip(tmp_path / "telegram.zip", members)

    result, summary = ingest_json(db_url, tmp_path / "ev", archive)

    assert result.exit_code == 0, result.stderr
    assert summary == {"files": 4, "messages_new": 9, "messages_seen": 0, "errors": []}
    with engine.connect() as conn:
        names = conn.execute(select(ExportFile.name).order_by(ExportFile.id)).scalars().all()
        media = conn.execute(select(Media.rel_path, Media.status, Media.sha256)).all()
    assert names == [f"{archive}/ChatExport_2024-03-01/result.json", f"{archive}/html/messages.html",
                     f"{archive}/html/messages2.html", f"{archive}/html/messages3.html"]
    assert (f"photos/{photo.name}", "stored", sha256_bytes(JPEG)) in [tuple(m) for m in media]
