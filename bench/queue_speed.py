"""Server time of the labelling queue with 1,000,000 messages and 20,000 flagged (SQLite).

    python bench/queue_speed.py                          # 1,000,000 messages, 20,000 flagged
    python bench/queue_speed.py --messages 100000 --flagged 2000 --repeat 30

Builds a fresh SQLite file with fast bulk inserts (every message scored, as the fast
tier does), then drives the real app in-process with TestClient and reads each
response's Server-Timing header (time inside the app, no network). Prints median and
p95 milliseconds for the queue page (plain, filtered, uncertainty order), an item page,
and a decision (which records the label and claims the next item). Target: < 100 ms each.
Server time is wall-clock, so it grows when other processes share the CPU; the CPU column
(process CPU time per request, including the in-process client) does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `queue`; keep its folder off the import path.

import argparse
import hashlib
import json
import random
import re
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from detector.config import Settings
from detector.db import open_database, session_scope
from labeling.accounts import add_user
from labeling.app import create_app
from labeling.queue import refresh_queue

LANGUAGES = ("ar", "ckb", "kmr", "fa", "tr", "en")
CHANNELS = 40
T0 = datetime(2023, 1, 1, tzinfo=timezone.utc)
GOODS = "Persian kitten, vaccinated, 3 months. Pick up from the market on Friday."
OFFER = "Offered: woman, age {age}, price {price} USD, in {city}. Contact +9647700{n:06d}"
CITIES = ("Mosul", "Raqqa", "Erbil", "Duhok", "Kirkuk")
PASSWORD = "bench-password-1"


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def build(path: Path, messages: int, flagged: int, seed: int = 11) -> float:
    """Create the database at `path`: sources, messages, one score per message; returns seconds."""
    started = time.perf_counter()
    open_database(f"sqlite:///{path}").dispose()  # the real schema, migrated
    rng = random.Random(seed)
    flagged_ids = set(rng.sample(range(1, messages + 1), flagged))
    now = sqlite_time(datetime.now(timezone.utc))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("INSERT INTO export_file (id, sha256, name, size, format, stored_path, ingested_at, ingested_by,"
                " messages_new, messages_seen) VALUES (1, ?, 'bench.json', 0, 'telegram_json', 'x', ?, 'bench', 0, 0)",
                ("0" * 64, now))
    con.executemany("INSERT INTO source (id, platform, chat_id, name, type, created_at) VALUES (?, 'telegram', ?, ?, 'public_channel', ?)",
                    [(c, f"chat{c}", f"Market channel {c}", now) for c in range(1, CHANNELS + 1)])

    def message_rows(start: int, stop: int):
        for n in range(start, stop):
            sent = sqlite_time(T0 + timedelta(minutes=n // 2))
            if n in flagged_ids:
                age = rng.choice((14, 16, 19, 23, 27))
                text = OFFER.format(age=age, price=rng.randrange(1000, 9000, 500), city=rng.choice(CITIES), n=n)
                at = text.index(str(age))
                signals = json.dumps([{"type": "age", "subtype": None, "value": {"min": age, "max": age, "minor": age < 18},
                                       "start": at, "end": at + 2, "text": str(age)}])
            else:
                text, signals = GOODS, "[]"
            raw = text.encode()
            yield (n, 1 + n % CHANNELS, str(n), sent, text, raw, hashlib.sha256(raw).hexdigest(),
                   LANGUAGES[n % len(LANGUAGES)], signals, now)

    def score_rows(start: int, stop: int):
        for n in range(start, stop):
            p = rng.uniform(0.55, 0.99) if n in flagged_ids else rng.uniform(0.0, 0.4)
            reasons = '[{"kind": "ngram", "feature": "age", "weight": 1.2}]' if n in flagged_ids else "[]"
            yield (n, n, "bench-1", p, n in flagged_ids, "fast", reasons, now)

    step = 50_000
    for start in range(1, messages + 1, step):
        stop = min(start + step, messages + 1)
        con.executemany(
            "INSERT INTO message (id, source_id, external_id, export_file_id, kind, sent_at, sent_local, sender_name,"
            " sender_id, text, entities, raw, raw_sha256, language, signals, created_at)"
            " VALUES (?, ?, ?, 1, 'message', ?, '', 'seller', 'user1', ?, '[]', ?, ?, ?, ?, ?)",
            message_rows(start, stop))
        con.executemany(
            "INSERT INTO score (id, message_id, model_version, probability, flagged, tier, reasons, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", score_rows(start, stop))
        con.commit()
        print(f"\r  {stop - 1:,} messages", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return time.perf_counter() - started


CPU_MS: list[float] = []  # process CPU time of the last request (app + in-process client)


def timed(call, *args, **kwargs):
    """Run one request, noting its process CPU time (unaffected by other processes' load)."""
    started = time.process_time()
    response = call(*args, **kwargs)
    CPU_MS.append((time.process_time() - started) * 1000)
    return response


def server_ms(response) -> float:
    assert response.status_code in (200, 303), (response.status_code, response.text[:300])
    return float(re.search(r"dur=([\d.]+)", response.headers["server-timing"]).group(1))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(name: str, samples: list[float], cpu: list[float]) -> str:
    (median, p95), (cpu_median, cpu_p95) = percentiles(samples), percentiles(cpu)
    return (f"{name:<32} server median {median:6.1f} ms  p95 {p95:6.1f} ms | "
            f"CPU median {cpu_median:6.1f} ms  p95 {cpu_p95:6.1f} ms  (n={len(samples)})")


def measure(path: Path, repeat: int) -> None:
    settings = Settings(database_url=f"sqlite:///{path}", evidence_dir=path.parent / "evidence", secret_key="q" * 40)
    app = create_app(settings)
    name = f"analyst{time.time_ns()}"  # a fresh analyst, also when a kept database is reused
    with session_scope(app.state.engine) as s:
        add_user(s, name, "analyst", PASSWORD, actor="bench")
    started = time.perf_counter()
    with session_scope(app.state.engine) as s:
        scores = refresh_queue(s)
    print(f"queue took in {scores:,} new scores in {(time.perf_counter() - started) * 1000:.0f} ms (once)")
    client = TestClient(app)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    pages = {"queue page": "/queue", "queue page, filtered (ar, age)": "/queue?language=ar&signal=age",
             "queue page, uncertainty order": "/queue?order=uncertainty", "queue page 20 (offset 950)": "/queue?page=20"}
    for title, url in pages.items():
        CPU_MS.clear()
        times = [server_ms(timed(client.get, url)) for _ in range(repeat)]
        print(summary(title, times, CPU_MS))
    item_times, item_cpu, decision_times, decision_cpu = [], [], [], []
    location = client.get("/next", follow_redirects=False).headers["location"]
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/settings").text).group(1)
    for n in range(repeat):
        item_times.append(server_ms(timed(client.get, location)))
        item_cpu.append(CPU_MS[-1])
        message_id = int(location.split("/items/")[1].split("?")[0])
        decision = timed(client.post, f"/items/{message_id}/decision", follow_redirects=False,
                         data={"decision": ("listing", "not_listing", "unsure")[n % 3], "role": "analyst",
                               "csrf_token": token})
        decision_times.append(server_ms(decision))
        decision_cpu.append(CPU_MS[-1])
        location = decision.headers["location"]
    print(summary("item page", item_times, item_cpu))
    print(summary("decision (+ claim next item)", decision_times, decision_cpu))
    app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--flagged", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="a tiny run for CI (seconds): does the bench still work?")
    parser.add_argument("--keep", type=Path, help="build the database at this path and keep it")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.flagged, args.repeat = 2_000, 100, 2
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "queue-bench.db"
        if path.exists():
            print(f"reusing {path}")
        else:
            seconds = build(path, args.messages, args.flagged)
            print(f"built {args.messages:,} messages, {args.flagged:,} flagged in {seconds:.0f} s "
                  f"({path.stat().st_size / 1e6:.0f} MB)")
        measure(path, args.repeat)


if __name__ == "__main__":
    main()
