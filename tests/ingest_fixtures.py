"""Small synthetic exports for the ingest and watch tests (written by the project's own writers)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload

from detector.cli import main
from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import edit_messages, write_telegram_html, write_telegram_json
from detector.synthetic.whatsapp import write_whatsapp_txt, write_whatsapp_zip
from detector.schema import Message

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def _jpeg() -> bytes:
    """A small real JPEG photo (a plain coloured square), the same bytes every run."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 120, 60)).save(out, "JPEG", quality=80)
    return out.getvalue()


JPEG = _jpeg()
GOODS = ("Kitten, 2 months, 50 USD", "Used phone for sale, 120 USD", "Bicycle wanted in Mosul", "Goat for sale")


def messages(count: int, *, photo_at: int | None = None, start: int = 0) -> list[SynthMessage]:
    """`count` plain market messages, one minute apart (a photo on message `photo_at`)."""
    return [
        SynthMessage(
            f"{GOODS[i % len(GOODS)]} #{i}",
            "Seller" if i % 2 else "Trader",
            f"user{i % 2}",
            T0 + timedelta(minutes=i),
            photo=JPEG if i == photo_at else None,
        )
        for i in range(start, start + count)
    ]


def telegram_json(folder: Path, items: list[SynthMessage], *, chat_id: int = 42) -> Path:
    """A Telegram Desktop JSON export folder (result.json + photos/); returns result.json."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    with open(path, "wb") as out:
        write_telegram_json(out, "Market", chat_id, items, photo_dir=folder)
    return path


def edited(items: list[SynthMessage], index: int, text: str) -> list[SynthMessage]:
    return edit_messages(items, {index: text}, T0 + timedelta(days=1))


def telegram_html(folder: Path, items: list[SynthMessage], per_page: int = 3) -> list[Path]:
    return write_telegram_html(folder, "Html market", items, per_page=per_page)


def whatsapp_zip(path: Path, items: list[SynthMessage]) -> Path:
    return write_whatsapp_zip(path, "Pets", items, locale="en_US_android")


def whatsapp_txt(path: Path, items: list[SynthMessage]) -> Path:
    with open(path, "wb") as out:
        write_whatsapp_txt(out, items, locale="en_US_android", chat_name="Tools")
    return path


def make_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def run_cli(args: list[str], evidence: Path) -> Result:
    return CliRunner().invoke(main, args, env={"DETECTOR_EVIDENCE_DIR": str(evidence)}, catch_exceptions=False)


def ingest_json(db_url: str, evidence: Path, *paths: Path) -> tuple[Result, dict[str, Any]]:
    result = run_cli(["ingest", "--db", db_url, "--json", "--no-analyse", *map(str, paths)], evidence)
    return result, json.loads(result.stdout)


def counts(engine: Engine, *models: Any) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(m)).scalar_one() for m in models)


def histories(engine: Engine) -> dict[str, list[tuple[int, str]]]:
    """Each message's (version, text) history by external id, read through Message.history."""
    with Session(engine) as session:
        messages = session.scalars(select(Message).options(selectinload(Message.stored_versions)))
        return {m.external_id: [(v.version, v.text) for v in m.history] for m in messages}


def assert_spans(records: list, data: bytes) -> None:
    """Each record's raw is the file's bytes at its offset, records in file order, none overlapping."""
    end = 0
    for record in records:
        assert record.offset >= end, record.external_id
        end = record.offset + len(record.raw)
        assert data[record.offset : end] == record.raw, record.external_id
