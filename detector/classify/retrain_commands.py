"""CLI for the retraining loop: training from labels, comparing, `detector models`, `detector simulate`.

`train` and `evaluate` (in commands.py) call `train_from_labels` and `compare` here when
given the retraining options; the rest are commands of their own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click

from ..cli_options import db_option, json_option

F = TypeVar("F", bound=Callable[..., Any])


def labels_options(func: F) -> F:
    """Options of `detector train` for training from analyst labels."""
    for option in reversed((
        click.option("--db", "db_url", envvar="DETECTOR_DATABASE_URL", default="sqlite:///detector.db",
                     show_default=True, help="Database with the analysts' labels."),
        click.option("--labels-weight", type=click.FloatRange(min=0), default=3.0, show_default=True,
                     help="How many times each label a reviewer decided counts (fractions keep a random share)."),
        click.option("--unreviewed-weight", type=click.FloatRange(min=0), default=1.5, show_default=True,
                     help="How many times each label only analysts decided counts."),
        click.option("--synthetic-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
                     help="How many times each synthetic training message counts (0 = labels only)."),
        click.option("--split-by-time", is_flag=True,
                     help="Hold out the newest labelled messages instead of a hash of their clusters."),
        click.option("--parent", default="current", show_default=True,
                     help="Model this candidate improves on (recorded in its card)."),
    )):
        func = option(func)
    return func


def train_from_labels(console: Any, stage: Any, *, db_url: str, out: Path | None, n: int, seed: int,
                      transformer: bool, labels_weight: float, unreviewed_weight: float, synthetic_weight: float,
                      split_by_time: bool, parent: str) -> dict[str, Any]:
    """Train a candidate from the database's labels plus the synthetic corpus; print a summary."""
    from ..config import Settings
    from ..db import open_database
    from .pointer import ALIASES, current_name
    from .retrain import RetrainConfig, train_candidate

    settings = Settings.from_env()
    out = out or settings.models_dir / f"candidate-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    parent_name = current_name(settings.models_dir) if parent in ALIASES else parent
    engine = open_database(db_url)
    try:
        card = train_candidate(engine, RetrainConfig(
            out=out, labels_weight=labels_weight, unreviewed_weight=unreviewed_weight,
            synthetic_weight=synthetic_weight, n=n, seed=seed,
            by_time=split_by_time, transformer=transformer, parent=parent_name), stage)
    finally:
        engine.dispose()
    labels = card["training_data"]["labels"]
    console.print(f"Wrote candidate {out} (version {card['version']}, parent {card['parent']}) from {labels['count']} "
                  f"labels, {labels['reviewed']} reviewed ({labels['train']} train, {labels['val']} validation, "
                  f"{labels['test']} held out) and "
                  f"{card['training_data']['synthetic']['count']} synthetic messages.\n"
                  f"Next: detector evaluate --compare current {out.name} --db {db_url}")
    return card


def heldout_records(data: Path | None, db_url: str | None, *, by_time: bool = False) -> list[Any]:
    """Held-out records: DATA (JSON Lines) and/or the test side of the database's labels."""
    from ..db import open_database
    from ..errors import DetectorError
    from .evaluate import Labelled, read_labelled
    from .retrain import heldout_examples

    records: list[Any] = []
    if data is not None:
        records += read_labelled(data)[0]
    if db_url:
        engine = open_database(db_url)
        try:
            records += [Labelled(e.text, e.label, e.lang, e.kind) for e in heldout_examples(engine, by_time=by_time)]
        finally:
            engine.dispose()
    if not records:
        raise DetectorError("no held-out data: give DATA.jsonl and/or --db URL with labelled messages")
    return records


def default_heldout(db_url: str | None) -> list[Any]:
    """The hand-written evaluation set plus, with a database, the held-out labels."""
    from .train import HANDWRITTEN_EVAL

    return heldout_records(HANDWRITTEN_EVAL if HANDWRITTEN_EVAL.is_file() else None, db_url)


def render_comparison(comparison: dict[str, Any], names: tuple[str, str], console: Any) -> None:
    """One table per section: both models' precision, recall and F1 side by side."""
    from rich.markup import escape
    from rich.table import Table

    from .evaluate import _fmt

    current, candidate = comparison["current"], comparison["candidate"]
    worse = {d["language"] for d in comparison["worse"]}
    for section, label in (("overall", "Overall"), ("by_language", "Language"), ("by_kind", "Kind")):
        rows = [("all", current["overall"], candidate["overall"])] if section == "overall" else [
            (key, value, candidate[section].get(key)) for key, value in current[section].items()]
        table = Table(title=f"{label}: {escape(names[0])} ({current['model_version']}) vs "
                            f"{escape(names[1])} ({candidate['model_version']})")
        for column in (label, "n", "listings", "cur P", "cur R", "cur F1", "cand P", "cand R", "cand F1", "ΔF1"):
            table.add_column(column, justify="left" if column == label else "right")
        for key, cur, cand in rows:
            a, b = cur["model"], (cand or {}).get("model", {})
            delta = None if a.get("f1") is None or b.get("f1") is None else b["f1"] - a["f1"]
            style = "red" if section == "by_language" and key in worse else None
            table.add_row(escape(key), str(a["n"]), str(a["positives"]), _fmt(a["precision"]), _fmt(a["recall"]),
                          _fmt(a["f1"]), _fmt(b.get("precision")), _fmt(b.get("recall")), _fmt(b.get("f1")),
                          "—" if delta is None else f"{delta:+.3f}", style=style)
        console.print(table)


def compare(current: str, candidate: str, data: Path | None, db_url: str | None, as_json: bool) -> None:
    """`detector evaluate --compare CURRENT CANDIDATE`: both models on the same held-out data."""
    from rich.console import Console

    from .promotion import compare_models
    from .registry import load_model

    records = heldout_records(data, db_url)
    comparison = compare_models(load_model(current), load_model(candidate), records)
    if as_json:
        click.echo(json.dumps(comparison, indent=2))
        return
    render_comparison(comparison, (current, candidate), Console(width=None if sys.stdout.isatty() else 160))
    verdict = ("worse in " + ", ".join(d["language"] for d in comparison["worse"])) if comparison["worse"] \
        else "not worse in any language"
    click.echo(f"{len(records)} held-out messages; the candidate is {verdict}.")


# --------------------------------------------------------------------------- detector models


@click.group("models")
def models() -> None:
    """List the model folders, promote a candidate to current, or roll back."""


@models.command("list")
@json_option
def models_list(as_json: bool) -> None:
    """Model folders under the models directory; the current one is marked with *."""
    from ..config import Settings
    from .promotion import list_models

    rows = list_models(Settings.from_env().models_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "*" if row["current"] else " "
        problem = f"  !! {row['problem']}" if row["problem"] else ""
        click.echo(f"{mark} {row['name']:<32} {row['version']:<40} labels {row['labels']:>6}  "
                   f"parent {row['parent'] or '—'}  {row['created']}{problem}")
    if not rows:
        click.echo("No model folders (train one with `detector train`).")


def _actor() -> str:
    from ..config import Settings
    from .promotion import actor_name

    return actor_name(Settings.from_env().actor)


def _report_queue(engine: Any, queue: dict[str, Any], rescore: bool, db_url: str, models_dir: Path, name: str) -> None:
    """Print how the queue was restored; score what the model never scored in the background."""
    from .promotion import rescore_in_background
    from .scoring import count_unscored

    unscored = count_unscored(engine, queue["model_version"])
    click.echo(f"Queue restored to {queue['model_version']}'s stored scores: {queue['queued']} flagged items, "
               f"{queue['unqueued']} taken out; {unscored} messages it never scored.")
    if rescore and unscored:
        log = Path("detector-rescore.log")
        process = rescore_in_background(db_url, models_dir, name, log)
        click.echo(f"Scoring those {unscored} messages in the background (process {process.pid}, log {log}); "
                   "old scores are kept and the queue takes the new ones in.")


@models.command("promote")
@click.argument("name")
@click.option("--force", is_flag=True, help="Promote even when the candidate is worse in a language.")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Held-out JSON Lines (default: the hand-written evaluation set).")
@click.option("--no-rescore", is_flag=True, help="Do not rescore the backlog in the background.")
@db_option
def models_promote(name: str, force: bool, data: Path | None, no_rescore: bool, db_url: str) -> None:
    """Make NAME the current model, unless it is worse than the current in any language
    (F1 on the held-out data: the hand-written set plus the database's held-out labels)."""
    from ..config import Settings
    from ..db import open_database
    from .promotion import promote

    settings = Settings.from_env()
    engine = open_database(db_url)
    try:
        records = heldout_records(data, db_url) if data else default_heldout(db_url)
        result = promote(settings, name, records, engine=engine, actor=_actor(), force=force)
        for drop in (result["comparison"] or {}).get("worse", []):
            click.echo(f"forced despite {drop['language']}: F1 {drop['candidate_f1']:.3f} < {drop['current_f1']:.3f}",
                       err=True)
        click.echo(f"Promoted {name} ({result['version']}); previous: {result['previous']}.")
        _report_queue(engine, result["queue"], not no_rescore, db_url, settings.models_dir, name)
    finally:
        engine.dispose()


@models.command("rollback")
@click.option("--no-rescore", is_flag=True, help="Do not score, in the background, messages the model never scored.")
@db_option
def models_rollback(no_rescore: bool, db_url: str) -> None:
    """Make the model before the current one current again and put the queue back on its
    stored scores (scores of both stay; only messages it never scored are scored)."""
    from ..config import Settings
    from ..db import open_database
    from .promotion import rollback

    settings = Settings.from_env()
    engine = open_database(db_url)
    try:
        result = rollback(settings, engine=engine, actor=_actor())
        click.echo(f"Rolled back from {result['previous']} to {result['current']} ({result['version']}).")
        _report_queue(engine, result["queue"], not no_rescore, db_url, settings.models_dir, result["current"])
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- detector simulate


PLOT_HINT = "pip install -e '.[plot]' (or pip install matplotlib)"


def _checkpoints(_ctx: Any, _param: Any, value: str) -> tuple[int, ...]:
    try:
        points = tuple(sorted({int(part) for part in value.split(",") if part.strip()}))
    except ValueError:
        raise click.BadParameter(f"give label counts separated by commas, like 0,50,100 (not {value[:40]!r})") from None
    if not points or points[0] < 0:
        raise click.BadParameter("give label counts of 0 or more, like 0,50,100")
    return points


@click.command("simulate")
@click.option("--out", type=click.Path(path_type=Path), default=Path("test-artifacts/learning_curve.png"),
              show_default=True, help=f"PNG of F1 against the number of labels (needs matplotlib: {PLOT_HINT}).")
@click.option("--no-plot", is_flag=True, help="Print the results only.")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--error-rate", type=click.FloatRange(0, 0.5), default=0.0, show_default=True,
              help="Share of wrong answers from the simulated analyst.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--corpus-size", type=click.IntRange(min=300), default=24_000, show_default=True,
              help="Synthetic messages generated (base, calibration and the unseen-style stream).")
@click.option("--base-train", type=click.IntRange(min=50), default=4000, show_default=True,
              help="Synthetic training messages the model starts from.")
@click.option("--checkpoints", default="0,50,100,150,200,300,400", show_default=True, callback=_checkpoints,
              help="Numbers of labels at which F1 is measured.")
@click.option("--batch", type=click.IntRange(min=1), default=50, show_default=True,
              help="Labels per active-learning round (the model is refitted after each).")
@click.option("--hash-bits", type=click.IntRange(10, 22), default=18, show_default=True,
              help="Hashed n-gram features: 2^BITS (each refit's cost grows with it).")
@json_option
def simulate_command(out: Path, no_plot: bool, repeats: int, error_rate: float, seed: int, corpus_size: int,
                     base_train: int, checkpoints: tuple[int, ...], batch: int, hash_bits: int, as_json: bool) -> None:
    """Simulate labelling an unseen-style stream: F1 against labels for active learning around the
    model's threshold, around 0.5, and random choice (mean and spread over repeats)."""
    from rich.console import Console

    from .simulation import SimulationConfig, run_simulation

    console = Console(stderr=True)
    config = SimulationConfig(n_corpus=corpus_size, base_train=base_train, checkpoints=checkpoints, batch=batch,
                              repeats=repeats, error_rate=error_rate, seed=seed, n_features=2**hash_bits)
    with console.status("simulating") as status:
        result = run_simulation(config, progress=lambda message: status.update(message))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_curves(result)
    if not no_plot:
        _plot(result, out)


def _print_curves(result: Any) -> None:
    strategies = list(result.curves)
    click.echo("labels  " + "  ".join(f"{s:>17}" for s in strategies) + "   (F1 mean ± sd over repeats)")
    means = {s: result.mean(s) for s in strategies}
    spreads = {s: result.spread(s) for s in strategies}
    for n in means[strategies[0]]:
        click.echo(f"{n:>6}  " + "  ".join(f"{means[s][n]:>9.3f} ± {spreads[s][n]['sd']:.3f}" for s in strategies))
    click.echo(f"pool {result.pool_size}, evaluation {result.eval_size} messages, {result.config['repeats']} repeats")


def _plot(result: Any, out: Path) -> None:
    """Draw the PNG when matplotlib is installed; otherwise say which extra to install (results are printed)."""
    from .simulation import plot_curves

    try:
        plot_curves(result, out)
    except ImportError as exc:
        if not (exc.name or "").startswith("matplotlib"):
            raise
        click.echo(f"note: no plot drawn: matplotlib is not installed; for {out}: {PLOT_HINT}", err=True)
        return
    click.echo(f"plot {out}", err=True)
