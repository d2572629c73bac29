"""Scoring on Dask: messages/s with 1 and 2 local worker processes side by side, and the projected
time for 10 million messages at N workers.

    python bench/scale.py [--model models/default] [--n 4000] [--postgres URL] [--smoke]

Each run scores the same unscored messages (a channel-like corpus mix: 2% listings, 60% priced
goods) in a fresh LocalCluster through `detector.scale` (`detector score --local-workers N`), the
model already loaded on every worker (loading is once per worker, not per message, so it is left
out). The database is a new SQLite file, or with --postgres a new database on that server, dropped
afterwards. On SQLite the workers take turns at the write lock (one writer), so only PostgreSQL
shows the scale-out. Projection: 10M / (rate of 1 worker x N x the measured 2-worker efficiency),
assuming partitions far outnumber workers, each worker has its own core, and the database keeps up
with N writers. The CPU may be shared: the load average at the start is printed; figures are a floor.
--smoke: 60 messages, to check the script quickly (figures from it mean little).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TEN_MILLION = 10_000_000


def corpus_mix(n: int) -> list[str]:
    spec = importlib.util.spec_from_file_location("classify_bench", BENCH / "classify.py")
    classify_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(classify_bench)
    return classify_bench.realistic_mix(n)[0]


@contextmanager
def bench_database(postgres: str | None, folder: Path) -> Iterator[str]:
    """A URL of a new empty database: a SQLite file in `folder`, or a database on the PostgreSQL server."""
    if not postgres:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"detector_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_messages(engine, texts: list[str]) -> None:
    from detector.db import session_scope
    from detector.schema import ExportFile, Message, Source

    with session_scope(engine) as session:
        source = Source(platform="telegram", chat_id="bench", name="bench")
        export = ExportFile(sha256="b" * 64, name="bench.json", size=1, format="telegram_json", stored_path="bench")
        session.add_all(Message(source=source, export_file=export, external_id=str(i), text=body, raw=body.encode(),
                                raw_sha256=f"{i:064d}", sent_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
                        for i, body in enumerate(texts))


def measure(url: str, model_path: Path, workers: int, partition_size: int) -> tuple[float, int]:
    """Seconds to score every message on a LocalCluster of `workers` processes (model warm), and retries."""
    from sqlalchemy import delete

    from detector.classify.registry import load_model
    from detector.db import make_engine, session_scope
    from detector.scale.cluster import dask_client, score_on_cluster
    from detector.scale.partitions import unscored_partitions
    from detector.scale.worker import worker_model
    from detector.schema import Score

    model = load_model(model_path)
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.execute(delete(Score))  # the bench's own database: every run starts unscored
    with dask_client(None, workers) as client:
        client.wait_for_workers(workers)
        client.run(worker_model, str(model_path.resolve()), model.version)
        start = time.perf_counter()
        partitions = unscored_partitions(engine, model.version, partition_size)
        summary = score_on_cluster(client, engine, url, model, model_path, partitions)
        seconds = time.perf_counter() - start
    engine.dispose()
    return seconds, summary.retried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--n", type=int, default=4000, help="messages scored in each run")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL to create the bench database on")
    parser.add_argument("--smoke", action="store_true", help="60 messages: checks the script quickly")
    args = parser.parse_args()
    n = 60 if args.smoke else args.n
    partition_size = max(10, n // 16)

    from detector.db import open_database

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder, bench_database(args.postgres, Path(folder)) as url:
        engine = open_database(url)
        add_messages(engine, corpus_mix(n))
        engine.dispose()
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{n} messages on {backend}, model {args.model}, partitions of {partition_size}, batches of 500")
        rates = {}
        for workers in (1, 2):
            seconds, retried = measure(url, args.model, workers, partition_size)
            rates[workers] = n / seconds
            print(f"  {workers} worker{'s' if workers > 1 else ' '}: {rates[workers]:10,.0f} msgs/s  "
                  f"({seconds:.2f} s, {retried} retried)")
    efficiency = rates[2] / (2 * rates[1])
    print(f"2-worker efficiency: {efficiency:.0%} of linear")
    print("projected time for 10M messages (1-worker rate x N x the 2-worker efficiency):")
    for workers in (1, 2, 8, 32, 128):
        per_second = rates[1] * (1 if workers == 1 else workers * efficiency)
        print(f"  {workers:4} workers: {TEN_MILLION / per_second / 3600:8.2f} h")


if __name__ == "__main__":
    main()
