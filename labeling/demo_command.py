"""`detector demo`: the whole product on the bundled sample data, in one command.

It ends in the labelling queue, so it lives in the top layer and reaches the `detector`
command through the `detector.commands` entry points.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from detector.classify.scoring import score_unscored
from detector.config import Settings
from detector.db import open_database
from detector.ingest.run import ingest_paths
from detector.synthetic.sample import SAMPLE_DIR
from detector.link.run import link_pending

from .demo import ensure_demo_users


def _copy_sample_to_inbox(inbox: Path) -> None:
    """Drop the bundled exports into an inbox folder, as an analyst would."""
    inbox.mkdir(parents=True, exist_ok=True)
    for item in SAMPLE_DIR.iterdir():
        target = inbox / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        elif not target.exists():
            shutil.copy2(item, target)


@click.command("demo")
@click.option("--folder", default="detector-demo", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Working folder for the demo's inbox, database and evidence store.")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Open the labelling queue at the end.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port for the queue.")
def demo_command(folder: Path, serve: bool, port: int) -> None:
    """Ingest the bundled sample exports, score and link them, then open the queue.

    Everything stays in FOLDER (SQLite, no server to set up); running it again
    adds nothing new, since ingest is idempotent.
    """
    console = Console(stderr=True)
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env().with_(
        database_url=f"sqlite:///{(folder / 'detector.db').resolve()}", evidence_dir=folder / "evidence"
    )
    engine = open_database(settings.database_url)
    inbox = folder / "inbox"
    _copy_sample_to_inbox(inbox)
    with console.status("Ingesting the sample exports..."):
        ingested = ingest_paths(engine, settings, [inbox])
    with console.status("Scoring messages..."):
        scored = score_unscored(engine, settings)
    with console.status("Linking reposts and shared contacts..."):
        linked = link_pending(engine, settings)
    logins = ensure_demo_users(engine)

    table = Table(title="Demo on the bundled sample", show_header=False)
    table.add_row("export files", str(ingested.files))
    table.add_row("messages stored (new / seen before)", f"{ingested.messages_new} / {ingested.messages_seen}")
    table.add_row("messages scored", f"{scored.scored} with model {scored.model_version}")
    table.add_row("flagged for review", str(scored.flagged))
    table.add_row("near-duplicate clusters / shared contacts", f"{linked.clusters} / {linked.entities}")
    table.add_row("database", settings.database_url)
    console.print(table)
    for name, role, password in logins:
        console.print(f"  login as [bold]{name}[/] / [bold]{password}[/]  ({role})")
    if ingested.errors:
        for line in ingested.errors:
            console.print(f"[red]{line}[/]")
    if serve:
        from .app import create_app
        from .commands import run_server
        from .hosts import default_allowed_hosts

        console.print(f"Labelling queue on [bold]http://127.0.0.1:{port}[/]  (Ctrl+C to stop)")
        run_server(create_app(settings, allowed_hosts=default_allowed_hosts("127.0.0.1")), "127.0.0.1", port)
