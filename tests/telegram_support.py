"""Shared pieces of the Telegram parser tests: fixture paths, sample messages, readers."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from detector.synthetic.messages import SynthMessage

DATA = Path(__file__).parent / "data" / "telegram"
START = datetime(2017, 5, 12, 9, 0, 0, tzinfo=UTC)


def jpeg(width: int = 16, height: int = 12, shade: int = 90) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def sample_messages() -> list[SynthMessage]:
    """A small channel history touching every feature the writers render."""
    return [
        SynthMessage("created the channel", "Souq Test", "channel4242", START, service=True),
        SynthMessage("قطة للبيع، العمر ٣ أشهر، السعر 50$", "Souq Test", "channel4242", START + timedelta(minutes=1),
                     photo=jpeg(16, 12)),
        SynthMessage("see https://t.me/souq_test and ask @seller_one #cats\nsecond line <b>&", "Souq Test",
                     "channel4242", START + timedelta(minutes=3)),
        SynthMessage("پشیلەی جوان بۆ فرۆشتن", "Hawre", "user777", START + timedelta(minutes=5), reply_to=1),
        SynthMessage("Kedi satılık", "Hawre", "user777", START + timedelta(minutes=6), forwarded_from="Kirkuk Market"),
        SynthMessage("Dilan joined the group", "Dilan", "user888", START + timedelta(hours=30), service=True),
        SynthMessage("edited price 40$", "Souq Test", "channel4242", START + timedelta(hours=31),
                     edited_at=START + timedelta(hours=32), photo=jpeg(20, 10, 30)),
        SynthMessage("reply across pages", "Dilan", "user888", START + timedelta(hours=33), reply_to=2),
    ]


def many_messages(count: int, seed: int = 7) -> Iterator[SynthMessage]:
    """`count` varied messages, generated lazily (for streaming tests)."""
    rng = random.Random(seed)
    texts = ["قطة شيرازي للبيع، السعر %d$ @seller_%d", "Kedi satılık %d TL https://t.me/x%d", "پشیلە %d #pets %d"]
    for index in range(count):
        text = rng.choice(texts) % (index, rng.randrange(1000))
        yield SynthMessage(text, f"User {index % 40}", f"user{1000 + index % 40}", START + timedelta(seconds=41 * index),
                           reply_to=index - 1 if index % 9 == 1 else None)


class CountingReader(io.BytesIO):
    """An in-memory binary stream that records how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data
