"""`detector audit sample` and `detector audit report`: thin shells around `store`."""

from __future__ import annotations

import json
import secrets
from contextlib import nullcontext

import click
from rich.console import Console
from rich.table import Table

from ..cli_options import db_option, json_option, settings_for
from ..db import open_database, session_scope
from .estimate import DomainEstimate, RecallReport
from .sample import DEFAULT_EDGES, parse_edges


@click.group("audit")
def audit() -> None:
    """Recall audits: sample unflagged messages for labelling, then estimate what the model misses."""


@audit.command("sample")
@db_option
@json_option
@click.option("--n", "n", type=click.IntRange(1, 100_000), default=400, show_default=True,
              help="How many unflagged messages to draw.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Random seed (default: a fresh one, printed and recorded).")
@click.option("--bands", default=",".join(f"{e:g}" for e in DEFAULT_EDGES), show_default=True,
              help="Score band edges, comma separated (strata are channel x language x band).")
@click.option("--model-version", default=None,
              help="Audit this model version's scores (default: each message's newest score).")
def sample_command(db_url: str, as_json: bool, n: int, seed: int | None, bands: str, model_version: str | None) -> None:
    """Draw a stratified random sample of unflagged messages into the queue's Audit list.

    Strata are channel x language x score band; each sampled message records its stratum's
    size and sample size (its weight). Label the items at /audit, then run `detector audit report`.
    """
    from .store import take_sample

    seed = secrets.randbits(63) if seed is None else seed
    settings = settings_for(db_url)
    console = Console(stderr=True)
    with console.status("Drawing the audit sample", spinner="dots") if not as_json else nullcontext():
        summary = take_sample(open_database(db_url), n, seed, parse_edges(bands), settings.actor or "detector", model_version)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    console.print(f"Audit round {summary.round}: drew {summary.sampled} of {summary.population} unflagged message(s) "
                  f"from {summary.strata} strata (seed {summary.seed}). Label them in the queue's Audit list.")


@audit.command("report")
@db_option
@json_option
@click.option("--round", "round_", type=click.IntRange(1), default=None, help="Audit round (default: the latest).")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True,
              help="Confidence level of the intervals.")
def report_command(db_url: str, as_json: bool, round_: int | None, confidence: float) -> None:
    """Estimate the listings the model misses and its field recall, per channel and language.

    Stratified Horvitz-Thompson estimate of the missed total with Korn-Graubard intervals
    (Clopper-Pearson at the design effective sample size), from the labelled audit items.
    """
    from .store import audit_report

    with session_scope(open_database(db_url)) as session:
        report = audit_report(session, round_, confidence)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    _print_report(report)


def _interval(low: float | None, high: float | None, digits: int) -> str:
    return "—" if low is None or high is None else f"{low:.{digits}f}–{high:.{digits}f}"


def _print_report(report: RecallReport) -> None:
    console = Console()
    level = f"{report.confidence:.0%}"
    table = Table(title=f"Recall audit, round {report.round} ({level} intervals)",
                  caption="Missed: estimated listings among unflagged messages; Flagged: listings among flagged ones.")
    table.add_column("", overflow="fold")
    for column in ("Unflagged", "Labelled", "Found", "Missed", level, "Flagged", "Recall", level):
        table.add_column(column, justify="right", no_wrap=True)

    def row(d: DomainEstimate) -> None:
        m = d.missed
        flagged = d.flagged.estimated_listings
        table.add_row(
            d.name, str(m.population + m.uncovered), f"{m.labelled}/{m.sampled}", str(m.found),
            "—" if m.missed is None else f"{m.missed:.1f}", _interval(m.low, m.high, 1),
            "—" if flagged is None else f"{flagged:.0f}", "—" if d.recall is None else f"{d.recall:.3f}",
            _interval(d.recall_low, d.recall_high, 3))

    row(report.overall)
    for title, domains in (("Channels", report.channels), ("Languages", report.languages)):
        table.add_section()
        table.add_row(f"[bold]{title}[/bold]")
        for domain in domains:
            row(domain)
    console.print(table)
    console.print(f"Estimator: {report.method}.", style="dim")
    if report.overall.missed.uncovered:
        console.print(f"{report.overall.missed.uncovered} unflagged message(s) are in strata with no labelled item "
                      "yet: their channels and languages have no recall until labelled.", style="yellow")
