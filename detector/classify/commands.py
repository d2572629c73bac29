"""CLI commands of the classifier: train, evaluate, classify, score. They parse options,
call plain functions and show progress; heavy libraries are imported inside them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..cli_options import db_option, json_option, model_option, settings_for
from .retrain_commands import compare as compare_models_command
from .retrain_commands import labels_options, train_from_labels

BATCH = 512


@contextmanager
def progress_stages(console: Any) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A rich progress display; yields `stage(description, total) -> advance(n)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        def stage(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        yield stage


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _load(model_name: str) -> Any:
    from .registry import load_model

    return load_model(model_name)


@click.command("train")
@click.option("--synthetic", is_flag=True, help="Train from scratch on the synthetic corpus only (no database).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Model folder to write (replaced only when training succeeds); default models/default with "
                   "--synthetic, else a new models/candidate-DATE.")
@click.option("--n", "n", type=click.IntRange(min=600), default=40_000, show_default=True, help="Corpus size.")
@click.option("--seed", type=int, default=7, show_default=True, help="Corpus and sampling seed.")
@click.option("--no-transformer", is_flag=True, help="Fast tier only (no multilingual-e5 tier).")
@labels_options
def train_command(synthetic: bool, out: Path | None, n: int, seed: int, no_transformer: bool, **from_labels: Any) -> None:
    """Train a model and write its folder with a model card: from the analysts' labels in the
    database plus the synthetic corpus (a candidate), or with --synthetic from the corpus alone."""
    from .train import TrainConfig, train_synthetic

    console = _stderr_console()
    if not synthetic:
        with progress_stages(console) as stage:
            train_from_labels(console, stage, out=out, n=n, seed=seed, transformer=not no_transformer, **from_labels)
        return
    out = out or Path("models/default")
    with progress_stages(console) as stage:
        card = train_synthetic(TrainConfig(out=out, n=n, seed=seed, transformer=not no_transformer), stage)
    test = card["metrics"]["test"]["overall"]["model"]
    console.print(f"Wrote {out} (version {card['version']}, threshold {card['threshold']:.3f}); "
                  f"test F1 {test['f1']:.3f}, precision {test['precision']:.3f}, recall {test['recall']:.3f}.")


@click.command("evaluate")
@click.argument("data", type=click.Path(path_type=Path), required=False)
@model_option
@click.option("--compare", nargs=2, metavar="CURRENT CANDIDATE", default=None,
              help="Compare two models side by side on the same held-out data (DATA and/or --db).")
@click.option("--db", "db_url", default=None, help="With --compare: also use the database's held-out labels.")
@json_option
def evaluate_command(data: Path | None, model_name: str, compare: tuple[str, str] | None, db_url: str | None,
                     as_json: bool) -> None:
    """Precision, recall, F1 and PR-AUC on DATA (JSON Lines with text and label; optional lang, kind),
    overall, per language and per kind, beside the keyword baseline."""
    from rich.console import Console

    if compare:
        return compare_models_command(compare[0], compare[1], data, db_url, as_json)
    if data is None:
        raise click.UsageError("give DATA.jsonl (or --compare CURRENT CANDIDATE with DATA and/or --db)")

    from .evaluate import evaluate_records, read_labelled, render_report

    records, skipped = read_labelled(data)
    model = _load(model_name)
    console = _stderr_console()
    with progress_stages(console) as stage:
        report = evaluate_records(model, records, progress=stage(f"Scoring {data.name}", len(records)))
    report |= {"data": str(data), "skipped": skipped}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    render_report(report, Console(width=None if sys.stdout.isatty() else 160))
    click.echo(f"{len(records)} messages evaluated, {skipped} lines skipped (no text or label).")


@click.command("classify")
@click.argument("file", type=click.Path(path_type=Path))
@model_option
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of the export's local times.")
def classify_command(file: Path, model_name: str, timezone: str) -> None:
    """Classify FILE without a database: JSON Lines with a `text` field, or an export file.
    Writes JSON Lines to stdout with score, flagged, language, signals and reasons.

    A reply is also read with its thread: the message it replies to and its sender's previous
    messages in the chat (or a `context` list of earlier texts given on its JSON line)."""
    from .context import ThreadMemory
    from .inputs import read_items

    model = _load(model_name)
    counts = {"messages": 0, "flagged": 0, "skipped": 0}
    batch: list[dict[str, Any]] = []
    contexts: list[list[str]] = []
    threads = ThreadMemory()

    def flush() -> None:
        predictions = model.predict([i["text"] for i in batch], contexts=contexts)
        for item, prediction in zip(batch, predictions):
            out = {**item, "score": prediction.probability, "flagged": prediction.flagged,
                   "tier": prediction.tier, "language": prediction.language,
                   "signals": prediction.signals, "reasons": prediction.reasons}
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            counts["flagged"] += prediction.flagged
        counts["messages"] += len(batch)
        batch.clear()
        contexts.clear()

    for item in read_items(file, timezone=timezone):
        if item is None:
            counts["skipped"] += 1
            continue
        contexts.append(threads.context_of(item))
        threads.remember(item)
        batch.append(item)
        if len(batch) >= BATCH:
            flush()
    flush()
    messages, skipped = counts["messages"], counts["skipped"]
    click.echo(f"{file}: {messages} message{'' if messages == 1 else 's'} classified, {counts['flagged']} flagged, "
               f"{skipped} line{'' if skipped == 1 else 's'} skipped (bad JSON or no text) — model {model.version}", err=True)


@click.command("score")
@db_option
@model_option
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Score on a Dask cluster: its scheduler, e.g. tcp://HOST:8786 (the scale extra; workers need "
                   "the same model folder and the database URL).")
@click.option("--local-workers", type=click.IntRange(min=1), default=None,
              help="Score on a Dask LocalCluster of N worker processes on this machine.")
@click.option("--partition-size", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="With --scheduler or --local-workers: unscored messages per partition (one task).")
@json_option
def score_command(db_url: str, model_name: str, batch_size: int, scheduler: str | None, local_workers: int | None,
                  partition_size: int, as_json: bool) -> None:
    """Score every message in the database that has no score from the current model version."""
    from ..db import open_database
    from .scoring import count_unscored, score_unscored

    settings = settings_for(db_url)
    model = _load(model_name)
    if scheduler or local_workers:
        from ..scale.commands import score_on_dask

        score_on_dask(db_url, model_name, model, scheduler=scheduler, local_workers=local_workers,
                      partition_size=partition_size, batch_size=batch_size, as_json=as_json,
                      stages=progress_stages(_stderr_console()))
        return
    engine = open_database(db_url)
    try:
        total = count_unscored(engine, model.version)
        with progress_stages(_stderr_console()) as stage:
            summary = score_unscored(engine, settings, model=model, batch_size=batch_size,
                                     progress=stage(f"Scoring with {model.version}", total))
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(f"Scored {summary.scored} messages with {summary.model_version}: {summary.flagged} flagged.")
