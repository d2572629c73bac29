"""The shell of `detector score --scheduler ADDRESS | --local-workers N`: options checked, progress, summary."""

from __future__ import annotations

import json
from typing import Any

import click

from ..classify.model import Model
from ..classify.registry import resolve_model_path
from ..db import open_database
from .cluster import dask_client, score_on_cluster, shared_database_url
from .partitions import unscored_partitions


def score_on_dask(db_url: str, model_name: str, model: Model, *, scheduler: str | None, local_workers: int | None,
                  partition_size: int, batch_size: int, as_json: bool, stages: Any) -> None:
    """Connect first (an unreachable scheduler writes nothing), then plan, score and print the summary.
    `stages` is the score command's `progress_stages` context (a rich progress display)."""
    if scheduler and local_workers:
        raise click.UsageError("give --scheduler or --local-workers, not both")
    url = shared_database_url(db_url)
    with dask_client(scheduler, local_workers) as client:
        engine = open_database(url)
        try:
            partitions = unscored_partitions(engine, model.version, partition_size)
            with stages as stage:
                advance = stage(f"Scoring with {model.version} on Dask", sum(p.planned for p in partitions))
                summary = score_on_cluster(client, engine, url, model, resolve_model_path(model_name), partitions,
                                           batch_size=batch_size, progress=advance)
        finally:
            engine.dispose()
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    retried = f", {summary.retried} retried after a worker died" if summary.retried else ""
    click.echo(f"Scored {summary.scored} messages with {summary.model_version} on {summary.workers} Dask workers "
               f"({summary.partitions} partitions{retried}): {summary.flagged} flagged.")
