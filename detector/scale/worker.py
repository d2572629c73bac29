"""What runs on a Dask worker: the model loaded once per process, and one partition scored with the
single-process scorer (`classify.scoring.score_unscored`), one transaction per batch."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event

from ..classify.model import Model
from ..classify.registry import load_model
from ..classify.scoring import ScoreSummary, score_unscored
from ..db import make_engine
from ..errors import ModelError
from .partitions import Partition

START_TOPIC = "detector-score-start"
_loading = threading.Lock()


@lru_cache(maxsize=4)
def _cached_model(path: str, version: str) -> Model:
    model = load_model(path)
    if model.version != version:
        raise ModelError(f"{path} holds model {model.version} on a worker, not {version}: give workers the same model folder")
    return model


def worker_model(path: str, version: str) -> Model:
    """The model at `path`, loaded once per worker process (keyed by path and version)."""
    with _loading:
        return _cached_model(path, version)


@lru_cache(maxsize=4)
def worker_engine(url: str) -> Engine:
    """One engine (connection pool) per database URL per worker process. SQLite has one writer at a
    time and a read transaction cannot become a write after another process committed, so there each
    batch takes the write lock when it begins (BEGIN IMMEDIATE): workers queue instead of failing."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _driver_leaves_transactions_to_us)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _driver_leaves_transactions_to_us(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def score_partition(url: str, model_path: str, version: str, partition: Partition, batch_size: int,
                    run_id: str) -> ScoreSummary:
    """Score the unscored messages of one partition; a retry skips what an earlier attempt committed."""
    from distributed import get_worker

    get_worker().log_event(START_TOPIC, {"run": run_id, "after_id": partition.after_id})
    return score_unscored(worker_engine(url), model=worker_model(model_path, version), batch_size=batch_size,
                          after_id=partition.after_id, before_id=partition.before_id)
