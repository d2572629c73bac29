"""WhatsApp parse speed per locale: an N-message export written by the project's writer, parsed from memory.

    python bench/whatsapp.py                    # 40,000 messages (WhatsApp's export limit), every locale
    python bench/whatsapp.py --messages 100000 --locale ar_android --locale en_US_android

Prints messages/s of `whatsapp.parse` alone (no database). The CPU is shared with
whatever else runs on the machine: read figures with that in mind.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import UTC, datetime, timedelta

from detector.synthetic.messages import SynthMessage
from detector.synthetic.whatsapp import LOCALES, write_whatsapp_txt
from detector.ingest.whatsapp import parse

TEXTS = (
    "Persian kitten, vaccinated, 3 months, 150 USD",
    "قطة شيرازي ملقحة عمر ٣ أشهر\nالسعر ١٠٠ دولار",
    "گربه‌ی ایرانی می‌فروشم، ۲ ماهه",
    "Satılık yavru kedi, 2 aylık",
)
NAMES = ("Omar", "أبو علي", "رضا", "+964 770 123 4567")


def messages(count: int, seed: int = 1) -> list[SynthMessage]:
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return [
        SynthMessage(rng.choice(TEXTS), name, name, start + timedelta(seconds=37 * i))
        for i, name in enumerate(rng.choice(NAMES) for _ in range(count))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--locale", action="append", choices=sorted(LOCALES))
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    args = parser.parse_args()
    batch = messages(300 if args.smoke else args.messages)
    for locale in args.locale or sorted(LOCALES):
        stream = io.BytesIO()
        write_whatsapp_txt(stream, batch, locale=locale)
        data = stream.getvalue()
        began = time.perf_counter()
        count = sum(1 for _ in parse(io.BytesIO(data), "bench.txt"))
        seconds = time.perf_counter() - began
        print(f"{locale:14} {count:>8,} messages  {len(data) / 1e6:6.1f} MB  {count / seconds:>9,.0f} messages/s")


if __name__ == "__main__":
    main()
