"""Scoring on a Dask cluster: connect (a scheduler's address or a LocalCluster), plan partitions,
run them on the workers and sum up. Writes are idempotent (one Score per message and model version,
a unique constraint), so a partition whose worker died is simply run again."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from ..classify.model import Model
from ..db import session_scope
from ..errors import ConfigError, DetectorError
from ..schema import Score
from .partitions import Partition
from .worker import START_TOPIC, score_partition


class ClusterError(DetectorError):
    """The Dask scheduler cannot be reached, or a partition could not be scored on the cluster."""


@dataclass
class ClusterScoreSummary:
    """`scored`/`flagged`: Scores of the version added while the run lasted; `retried`: extra attempts
    of partitions whose worker died."""

    model_version: str
    workers: int
    partitions: int = 0
    retried: int = 0
    scored: int = 0
    flagged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def shared_database_url(url: str) -> str:
    """The URL the workers open: a relative SQLite path made absolute; in-memory SQLite refused."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise ConfigError(f"workers cannot share the database {url!r}: give a SQLite file or PostgreSQL")
    return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)


@contextmanager
def dask_client(scheduler: str | None, local_workers: int | None) -> Iterator[Any]:
    """A Dask client on the scheduler at `scheduler`, or on a LocalCluster of `local_workers` processes.
    The connect timeout is Dask's `distributed.comm.timeouts.connect` (env DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError("scoring on Dask needs the scale extra: pip install 'trafficking-ad-detector[scale]'") from exc
    if scheduler:
        try:
            client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        with client:
            yield client
        return
    with LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster, set_as_default=False) as client:
        yield client


def score_on_cluster(client: Any, engine: Engine, url: str, model: Model, model_path: Path,
                     partitions: list[Partition], *, batch_size: int = 500,
                     progress: Callable[[int], None] | None = None) -> ClusterScoreSummary:
    """Score `partitions` (from `partitions.unscored_partitions`) on the cluster, one task each;
    `progress(n)` advances by a partition's planned messages as it finishes."""
    from distributed import as_completed

    before = _score_counts(engine, model.version)
    run_id = uuid.uuid4().hex
    futures = {client.submit(score_partition, shared_database_url(url), str(model_path.resolve()), model.version,
                             partition, batch_size, run_id, key=f"detector-score-{run_id}-{i}", pure=False): partition
               for i, partition in enumerate(partitions)}
    for future in as_completed(futures, loop=client.loop):
        _result_or_raise(client, future, futures[future], futures)
        if progress:
            progress(futures[future].planned)
    after = _score_counts(engine, model.version)
    return ClusterScoreSummary(model.version, workers=len(client.scheduler_info()["workers"]),
                               partitions=len(partitions), retried=_retries(client, run_id),
                               scored=after[0] - before[0], flagged=after[1] - before[1])


def _result_or_raise(client: Any, future: Any, partition: Partition, futures: dict[Any, Partition]) -> None:
    """A failed partition stops the run (the others are cancelled) with one line; rerunning finishes the job."""
    try:
        future.result()
    except DetectorError:
        client.cancel(list(futures))
        raise
    except Exception as exc:  # a worker's error (database gone, worker killed too often) arrives as itself
        client.cancel(list(futures))
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise ClusterError(f"messages {partition.after_id + 1}..{partition.before_id - 1} could not be scored on the "
                           f"cluster ({type(exc).__name__}: {first_line}); what was scored is kept, run again to finish") from exc


def _score_counts(engine: Engine, version: str) -> tuple[int, int]:
    with session_scope(engine) as session:
        total, flagged = session.execute(select(func.count(Score.id), func.count(Score.id).filter(Score.flagged))
                                         .where(Score.model_version == version)).one()
    return int(total), int(flagged)


def _retries(client: Any, run_id: str) -> int:
    """Attempts beyond the first, counted from the start events the workers sent to the scheduler."""
    starts = Counter(msg["after_id"] for _time, msg in client.get_events(START_TOPIC) if msg.get("run") == run_id)
    return sum(n - 1 for n in starts.values())
