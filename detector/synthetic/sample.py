"""The bundled sample: three small synthetic channel exports, one per format.

`build_sample(folder)` writes them deterministically from the synthetic corpus:
a Telegram JSON channel with photos, a Telegram HTML channel over two pages and a
WhatsApp zip in an Arabic locale. One listing is reposted, re-worded, in two
channels with the same phone number and a re-cropped photo, so linking has
something to find; one message carries markup, to show it stays inert text.
Everything here is synthetic; no real person is described.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image, ImageDraw

from .corpus import Example, generate_corpus
from .messages import SynthMessage
from .telegram import write_telegram_json, write_telegram_html
from .whatsapp import write_whatsapp_zip

SAMPLE_DIR = Path(__file__).parent / "samples"
SEED = 2026
START = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
REPOST_PHONE = "+964 770 555 0199"
REPOST_TEXTS = (
    "سبية للبيع عمرها ١٦ سنة السعر ٤٥٠٠ دولار في الرقة للتواصل " + REPOST_PHONE,
    "للبيع سبية ١٦ سنة بسعر ٤٢٠٠$ التسليم في الموصل واتساب " + REPOST_PHONE,
)
HOSTILE_TEXT = (
    'Kittens for sale <script>alert("x")</script> 3 months, 40$ '
    '<img src=x onerror=alert(1)> details: <a href="javascript:alert(2)">click</a>'
)
SENDERS = ("Abu Omar", "Souq admin", "Karwan", "Ahmad M.", "Dilan", "أبو خالد", "Hesen", "Mehmet")


def sample_photo(rng: random.Random, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """An abstract placeholder picture: coloured shapes, never a person."""
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x0, y0, x0 + rng.randrange(30, 160), y0 + rng.randrange(30, 120))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return image


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def recropped(data: bytes) -> bytes:
    """The same photo cropped by 10% and re-encoded, as a reposting seller would."""
    image = Image.open(io.BytesIO(data))
    w, h = image.size
    return jpeg(image.crop((w // 20, h // 20, w - w // 20, h - h // 20)).resize((300, 225)), quality=60)


def _channel(
    rng: random.Random, examples: list[Example], start: datetime, photo_share: float
) -> Iterator[SynthMessage]:
    moment = start
    for example in examples:
        moment += timedelta(minutes=rng.randrange(3, 240))
        photo = jpeg(sample_photo(rng)) if example.label and rng.random() < photo_share else None
        sender = rng.choice(SENDERS)
        yield SynthMessage(example.text, sender, f"user{7000100 + SENDERS.index(sender)}", moment, photo=photo)


def _pick(examples: list[Example], rng: random.Random, n: int, listings: int) -> list[Example]:
    positives = [e for e in examples if e.label]
    negatives = [e for e in examples if not e.label]
    chosen = rng.sample(positives, listings) + rng.sample(negatives, n - listings)
    rng.shuffle(chosen)
    return chosen


def _insert(messages: list[SynthMessage], at: int, text: str, photo: bytes | None, sender: str) -> None:
    moment = messages[at - 1].sent_at + timedelta(minutes=7)
    messages.insert(at, SynthMessage(text, sender, "user7000123", moment, photo=photo))


def build_sample(folder: Path = SAMPLE_DIR, seed: int = SEED) -> list[Path]:
    """Write the sample exports into `folder`; returns the paths written."""
    rng = random.Random(seed)
    corpus = generate_corpus(4000, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    repost_photo = jpeg(sample_photo(rng))

    market = list(_channel(rng, _pick(corpus, rng, 140, 12), START, 0.6))
    _insert(market, 40, REPOST_TEXTS[0], repost_photo, "Abu Omar")
    _insert(market, 90, HOSTILE_TEXT, None, "Souq admin")
    json_dir = folder / "telegram-souq-raqqa"
    json_dir.mkdir(exist_ok=True)
    with open(json_dir / "result.json", "wb") as out:
        write_telegram_json(out, "سوق الرقة العام | Raqqa Market", 1700000001, market, photo_dir=json_dir)

    bazaar = list(_channel(rng, _pick(corpus, rng, 110, 9), START + timedelta(days=2), 0.5))
    _insert(bazaar, 55, REPOST_TEXTS[1], recropped(repost_photo), "أبو خالد")
    html_dir = folder / "telegram-mosul-bazaar"
    write_telegram_html(html_dir, "Mosul Bazaar بازار الموصل", bazaar, per_page=60)

    transfers = [e for e in corpus if e.kind in {"domestic_transfer", "job_offer", "recruitment", "chat"}]
    gulf = list(_channel(rng, _pick(transfers, rng, 70, 8), START + timedelta(days=4), 0.3))
    zip_path = folder / "WhatsApp Chat - Gulf Transfers.zip"
    write_whatsapp_zip(zip_path, "Gulf Transfers", gulf, locale="ar_android", timezone="Asia/Riyadh")
    return [json_dir / "result.json", *sorted(html_dir.glob("messages*.html")), zip_path]


if __name__ == "__main__":
    for path in build_sample():
        print(path)
