"""`detector link` and `detector graph`: thin shells around link_pending and write_graph."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..cli_options import db_option, json_option, settings_for
from ..db import open_database


class _Bar:
    """LinkProgress on a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("Linking messages and photos", total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, count: int) -> None:
        self.progress.advance(self.task, count)


@click.command("link")
@db_option
@json_option
def link_command(db_url: str, as_json: bool) -> None:
    """Cluster reposted listings and link messages sharing a phone, account or photo.

    Incremental: only messages and photos not linked yet are processed.
    """
    from .run import link_pending

    settings = settings_for(db_url)
    engine = open_database(db_url)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=as_json) as progress:
        summary = link_pending(engine, settings, progress=_Bar(progress))
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    console.print(
        f"Linked {summary.messages_linked} message(s), hashed {summary.photos_hashed} photo(s): "
        f"{summary.clusters} near-duplicate cluster(s) ({summary.clusters_created} new, {summary.clusters_merged} merged), "
        f"{summary.entities} phone(s), account(s) or photo(s) shared by several messages."
    )
    for reason, count in sorted(summary.skipped.items()):
        console.print(f"  skipped {count}: {reason.replace('_', ' ')}")


@click.command("graph")
@db_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (GraphML or GEXF, for Gephi).")
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf"]), default=None,
              help="Graph format (default: from the file's suffix, else graphml).")
def graph_command(db_url: str, out: Path, fmt: str | None) -> None:
    """Export the link graph (messages, clusters, shared contacts and photos) for Gephi."""
    from .graph import write_graph

    settings = settings_for(db_url)
    fmt = fmt or ("gexf" if out.suffix.lower() == ".gexf" else "graphml")
    nodes, edges = write_graph(open_database(db_url), out, fmt, settings.actor)
    Console(stderr=True).print(f"Wrote {out} ({fmt}): {nodes} nodes, {edges} edges.")
