"""Linking speed: cluster N messages from empty, then add 10,000 new ones (SQLite by default).

    python bench/link.py                         # 1,000,000 messages, then 10,000 more
    python bench/link.py --messages 200000 --new 10000
    python bench/link.py --db postgresql+psycopg://...   # an EMPTY database
    python bench/link.py --sizes 100000 300000 1000000   # CPU-µs per message at each size, and the growth
    python bench/link.py --smoke                         # seconds: CI runs it so the bench cannot rot

Messages are synthetic corpus texts (generated in worker processes), one in five a repost
of an earlier one (re-worded, re-ordered, a line added or dropped), with their phone
numbers as contact signals; they are bulk-inserted, then `link_pending` runs as
`detector link` would. Prints wall and CPU seconds per phase (the CPU is shared: wall time grows with
other load, CPU time does not) and messages per second.
Targets on 2 cores: 1,000,000 clustered in under 90 s; 10,000 added in under 2 s; CPU-µs per
message flat (within 20%) from 100k to 1M.
"""

from __future__ import annotations

import argparse
import math
import os
import hashlib
import logging
import random
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context

from sqlalchemy import insert, select, func

from detector.config import Settings
from detector.db import open_database
from detector.link.clusters import Index
from detector.link.run import link_pending
from detector.synthetic.links import repost
from detector.schema import Cluster, ClusterMember, ExportFile, Message, Source

CHEAP_EDITS = ("words", "order", "drop", "add", "mix")  # re-pricing reads signals: too slow for a million
PHONE = re.compile(r"\+?\d[\d ]{7,}\d")
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _texts(job: tuple[int, int]) -> list[str]:
    """`n` texts for one worker: corpus messages, one in five a repost of an earlier one."""
    from detector.synthetic.corpus import generate_corpus

    n, seed = job
    rng = random.Random(seed)
    corpus = [e.text for e in generate_corpus(n, seed=seed)]
    # corpus[rng.randrange(i)] draws what rng.choice(corpus[:i]) did, without copying the list
    return [repost(corpus[rng.randrange(i)], rng, CHEAP_EDITS) if i > 10 and rng.random() < 0.2 else text
            for i, text in enumerate(corpus)]


def generate(n: int, seed: int, workers: int = 2) -> list[str]:
    jobs = [(n // workers + (1 if k < n % workers else 0), seed * 100 + k) for k in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return [t for part in pool.map(_texts, jobs) for t in part]


def store(engine, texts: list[str], channel: str) -> None:
    """Bulk-insert messages with contact signals (the phone numbers), as ingest and analysis would leave them."""
    with engine.begin() as conn:
        source_id = conn.execute(insert(Source).values(platform="telegram", chat_id=channel, name=channel)
                                 .returning(Source.id)).scalar_one()
        export_id = conn.execute(insert(ExportFile).values(sha256=hashlib.sha256(channel.encode()).hexdigest(), name=channel,
                                 size=0, format="telegram_json", stored_path="x").returning(ExportFile.id)).scalar_one()
        for start in range(0, len(texts), 20_000):
            rows = []
            for k, text in enumerate(texts[start : start + 20_000], start):
                raw = text.encode()
                phones = [{"type": "contact", "subtype": "phone", "value": "+" + re.sub(r"\D", "", m.group()),
                           "start": m.start(), "end": m.end(), "text": m.group()} for m in PHONE.finditer(text)]
                rows.append({"source_id": source_id, "external_id": str(k), "export_file_id": export_id, "kind": "message",
                             "sent_at": T0 + timedelta(seconds=k), "text": text, "raw": raw,
                             "raw_sha256": hashlib.sha256(raw).hexdigest(), "language": "und", "signals": phones})
            conn.execute(insert(Message), rows)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, func, *args, **kwargs):
    """Run and print wall seconds and CPU seconds (this process and its finished workers)."""
    started, cpu = time.perf_counter(), _cpu()
    result = func(*args, **kwargs)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    print(f"{label:<48} {seconds:8.1f} s wall {cpu_seconds:8.1f} s CPU", flush=True)
    return result, cpu_seconds


def partition_digest(engine) -> str:
    """A digest of the clusters as sets of messages: equal digests, equal clustering."""
    groups: dict[int, list[int]] = {}
    with engine.connect() as conn:
        for message_id, cluster_id in conn.execute(select(ClusterMember.message_id, ClusterMember.cluster_id)):
            groups.setdefault(cluster_id, []).append(message_id)
    canonical = sorted(tuple(sorted(members)) for members in groups.values())
    return hashlib.sha256(repr(canonical).encode()).hexdigest()[:16]


def run(messages: int, new: int, seed: int, db: str) -> tuple[float, float]:
    """Link `messages` from empty, then `new` more; CPU-µs per message of each link run."""
    folder = tempfile.mkdtemp(prefix="bench-link-")
    url = db or f"sqlite:///{folder}/bench.db"
    settings = Settings().with_(database_url=url, evidence_dir=f"{folder}/evidence")
    engine = open_database(url)
    texts, _ = timed(f"generate {messages + new:,} texts (2 processes)", generate, messages + new, seed)
    old, fresh = texts[:messages], texts[messages:]
    timed(f"store {len(old):,} messages", store, engine, old, "bench-old")
    summary, cpu_all = timed(f"link {len(old):,} messages from empty", link_pending, engine, settings)
    print(f"  {cpu_all / max(summary.messages_linked, 1) * 1e6:,.0f} CPU-µs per message; {summary.clusters:,} clusters, "
          f"{summary.entities:,} shared entities")
    with engine.connect() as conn:
        index, _ = timed("  of which: load the index (signatures)", Index.load, conn)
    print(f"  index: {len(index.ids):,} signatures, {index.signatures.nbytes / 2**20:.0f} MiB")
    timed(f"store {len(fresh):,} new messages", store, engine, fresh, "bench-new")
    summary, cpu_new = timed(f"link {len(fresh):,} new messages (incremental)", link_pending, engine, settings)
    with engine.connect() as conn:
        largest = conn.execute(select(func.max(Cluster.size))).scalar_one()
    print(f"  {summary.messages_linked:,} linked; {summary.clusters:,} clusters (largest {largest}), "
          f"{summary.clusters_created} created, {summary.clusters_merged} merged; clustering digest "
          f"{partition_digest(engine)}")
    print(f"database: {url}\n", flush=True)
    engine.dispose()
    return cpu_all / max(messages, 1) * 1e6, cpu_new / max(new, 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--sizes", type=int, nargs="+", help="several index sizes, each from empty (overrides --messages)")
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--db", default="", help="an EMPTY database (one size only); default: a new SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a tiny run (2,000 + 200 messages) for CI")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sizes = [2_000] if args.smoke else args.sizes or [args.messages]
    new = 200 if args.smoke else args.new
    figures = [(n, *run(n, new, args.seed, args.db)) for n in sizes]
    print("| messages | link from empty, CPU-µs/message | next new ones, CPU-µs/message |\n|---|---|---|")
    for n, per_message, per_new in figures:
        print(f"| {n:,} | {per_message:,.0f} | {per_new:,.0f} |")
    for (n1, c1, _), (n2, c2, _) in zip(figures, figures[1:]):
        print(f"growth exponent {n1:,} -> {n2:,}: total CPU ∝ N^{1 + math.log(c2 / c1) / math.log(n2 / n1):.2f}")


if __name__ == "__main__":
    main()
