"""Ingest speed and memory: an N-message Telegram JSON export into a fresh SQLite file.

    python bench/ingest.py                      # 1,000,000 messages (about 1 GB)
    python bench/ingest.py --messages 200000 --analysed-messages 5000

The export is written streaming by the project's own Telegram writer into a temp
folder; each ingest runs in a child process so its peak RSS is measured alone.
Prints messages/s and peak memory without text analysis (targets: >= 20,000
messages/s and < 400 MB), then the same with text analysis on a smaller export.
The CPU is shared with whatever else runs on the machine: read figures with that in mind
(messages per CPU-second is printed too; it depends less on other load).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from detector.synthetic.messages import SynthMessage
from detector.synthetic.telegram import write_telegram_json

GOODS = (
    ("Persian kitten, vaccinated, 3 months", "قطة شيرازي ملقحة عمر ٣ أشهر"),
    ("Used Samsung phone, good battery", "موبايل سامسونج مستعمل بطارية جيدة"),
    ("Mountain bicycle, 26 inch wheels", "دراجة جبلية قياس ٢٦"),
    ("Two goats and a sheep", "ماعز اثنين وخروف"),
    ("Generator 5 kVA, little used", "مولدة ٥ كي في ا استعمال قليل"),
    ("Sofa set, seven seats", "طقم قنفات سبع مقاعد"),
)
CITIES = ("Mosul", "Raqqa", "Erbil", "Duhok", "Kirkuk", "Baghdad", "Gaziantep")
FILLER = (
    "Serious buyers only, no bargaining over the phone.",
    "Pick up from the market on Friday after prayer.",
    "Delivery possible inside the city for a small fee.",
    "Photos on request, message me privately.",
    "السعر نهائي والتسليم يد بيد",
    "Fiyat son, pazarlık yok. Teslimat şehir içi mümkün.",
)
T0 = datetime(2023, 1, 1, tzinfo=timezone.utc)


def synthetic_messages(count: int, seed: int = 7) -> Iterator[SynthMessage]:
    """`count` market messages of a few hundred characters each, reproducible from `seed`."""
    rng = random.Random(seed)
    for i in range(count):
        english, arabic = rng.choice(GOODS)
        text = (
            f"{english} — {arabic}. Price {rng.randint(20, 900)} USD, {rng.choice(CITIES)}. "
            f"{' '.join(rng.sample(FILLER, 3))} Call +96477{rng.randint(10_000_000, 99_999_999)} "
            f"or @seller_{rng.randint(1, 500)}"
        )
        yield SynthMessage(text, f"Seller {i % 300}", f"user{i % 300}", T0 + timedelta(seconds=30 * i))


def write_export(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    with open(path, "wb") as out:
        write_telegram_json(out, "Bench market", 4242, synthetic_messages(count))
    return path


def ingest_once(db_path: str, evidence: str, export: str, analyse: bool) -> dict[str, object]:
    """Ingest one export into a fresh SQLite file (run in a child process); its figures."""
    from detector.config import Settings
    from detector.db import open_database
    from detector.ingest.run import ingest_paths

    url = f"sqlite:///{db_path}"
    engine = open_database(url)
    settings = Settings(database_url=url, evidence_dir=Path(evidence))
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    summary = ingest_paths(engine, settings, [export], analyse=analyse)
    after = resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": user + system,
        "system_seconds": system,  # mostly the kernel copying SQLite's and the evidence store's writes
        "messages": summary.messages_new,
        "errors": summary.errors,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(workdir: Path, export: Path, analyse: bool) -> dict[str, float]:
    """Ingest `export` in a child process (so its peak RSS is its own); its figures."""
    tag = "analysed" if analyse else "plain"
    args = [str(workdir / f"{tag}.db"), str(workdir / f"evidence-{tag}"), str(export), "1" if analyse else ""]
    child = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if child.returncode:
        raise SystemExit(child.stderr)
    figures = json.loads(child.stdout)
    if figures["errors"]:
        raise SystemExit(f"ingest failed: {figures['errors']}")
    figures["rate"] = figures["messages"] / figures["seconds"]
    figures["cpu_rate"] = figures["messages"] / figures["cpu_seconds"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in the export (default 1,000,000)")
    parser.add_argument("--analysed-messages", type=int, default=10_000,
                        help="messages in the smaller export ingested with text analysis (0 to skip)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db_path, evidence, export, analyse = args.child
        print(json.dumps(ingest_once(db_path, evidence, export, bool(analyse))))
        return
    if args.smoke:
        args.messages, args.analysed_messages = 2_000, 200

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        export = write_export(workdir / "export", args.messages)
        size_mb = export.stat().st_size / 1e6
        os.sync()  # an export waits in the inbox on disk: its own write-back is not the ingest's work
        print(f"wrote {args.messages:,} messages, {size_mb:,.0f} MB in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        results["without_analysis"] = measure(workdir, export, analyse=False)
        results["without_analysis"]["export_mb"] = size_mb
        if args.analysed_messages:
            small = write_export(workdir / "small", args.analysed_messages)
            results["with_analysis"] = measure(workdir, small, analyse=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(
            f"{name.replace('_', ' '):>18}: {figures['messages']:>9,.0f} messages in {figures['seconds']:7.1f} s = "
            f"{figures['rate']:>8,.0f} messages/s ({figures['cpu_rate']:,.0f} per CPU-second, "
            f"{figures['system_seconds'] / figures['cpu_seconds']:.0%} of it in the kernel), "
            f"peak RSS {figures['peak_mb']:,.0f} MB"
        )
    plain = results["without_analysis"]
    verdict = plain["rate"] >= 20_000 and plain["peak_mb"] < 400
    print(f"targets (>= 20,000 messages/s, < 400 MB without analysis): {'met' if verdict else 'NOT met'}")


if __name__ == "__main__":
    main()
