"""`detector ingest` and `detector watch`: thin shells around ingest.run and schedule."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from ..cli_options import db_option, json_option, settings_for
from ..db import open_database
from .run import IngestSummary, ingest_paths
from .timezones import zone


class AmountColumn(ProgressColumn):
    """How much is done: bytes (and bytes/s) for reading, a count of messages for analysis."""

    def __init__(self) -> None:
        super().__init__()
        self.size, self.speed = DownloadColumn(), TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") != "messages":
            return Text.assemble(self.size.render(task), " ", self.speed.render(task))
        total = "?" if task.total is None else f"{int(task.total):,}"
        rate = f" {task.speed:,.0f}/s" if task.speed else ""
        return Text(f"{int(task.completed):,}/{total} messages{rate}", style="progress.download")


class RichProgress:
    """The ingest progress bar on stderr: bytes read, then messages analysed."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            AmountColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task: TaskID | None = None
        self.analysis: TaskID | None = None

    def __enter__(self) -> "RichProgress":
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def start(self, total_bytes: int) -> None:
        self.task = self.bar.add_task("reading", total=total_bytes or None)

    def file(self, name: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=_short(name))

    def advance(self, nbytes: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, nbytes)

    def analysing(self, total: int) -> None:
        self.analysis = self.bar.add_task("analysing text", total=total, unit="messages")

    def analysed(self, count: int) -> None:
        if self.analysis is not None:
            self.bar.advance(self.analysis, count)


def _short(name: str, width: int = 40) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def summary_table(summary: IngestSummary) -> Table:
    table = Table(title="Ingest summary", show_header=True)
    for column in ("files", "new messages", "seen before", "new versions", "analysed", "errors"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.files),
        str(summary.messages_new),
        str(summary.messages_seen),
        str(summary.versions_new),
        str(summary.analysed),
        str(len(summary.errors)),
    )
    return table


timezone_option = click.option(
    "--timezone",
    envvar="DETECTOR_EXPORT_TIMEZONE",
    default="UTC",
    show_default=True,
    help="IANA zone of export times written without an offset (WhatsApp, old Telegram).",
)
no_analyse_option = click.option(
    "--no-analyse", is_flag=True, help="Skip language and signal analysis of new messages (faster ingest)."
)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@json_option
@timezone_option
@no_analyse_option
@click.pass_context
def ingest_command(
    ctx: click.Context, paths: tuple[Path, ...], db_url: str, as_json: bool, timezone: str, no_analyse: bool
) -> None:
    """Store Telegram and WhatsApp exports: files, folders or zips.

    Each file is stored whole or not at all; a file seen before adds nothing and a
    later export adds only new messages and new versions of edited ones. Bad files
    are reported one line each and the exit status is 1; the others are still stored.
    `--json` prints {"files", "messages_new", "messages_seen", "errors"}, where
    files counts export files read (new or already stored), and "temp_files_removed"
    when the run first removed temporary files an interrupted ingest left behind.
    """
    settings = settings_for(db_url, export_timezone=timezone)
    engine = open_database(db_url)
    err = Console(stderr=True)
    try:
        with RichProgress(err) as progress:
            summary = ingest_paths(engine, settings, paths, analyse=not no_analyse, progress=progress)
    except KeyboardInterrupt:
        raise click.ClickException(
            "interrupted: files finished before are stored, the one being read is not (run again to finish)"
        ) from None
    finally:
        engine.dispose()
    if summary.cleanup_line():
        click.echo(f"note: {summary.cleanup_line()}", err=True)
    for line in summary.errors:
        click.echo(f"error: {line}", err=True)
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        Console().print(summary_table(summary))
    if summary.errors:
        ctx.exit(1)


@click.command("watch")
@click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--every", default="5m", show_default=True, help="Interval between passes: 90, 30s, 5m, 1h.")
@db_option
@click.option("--once", is_flag=True, help="Run one pass and stop (for cron and tests).")
@click.option(
    "--settle",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds a new file must stay unchanged before it is read (files still being written wait).",
)
@timezone_option
@no_analyse_option
def watch_command(
    inbox: Path, every: str, db_url: str, once: bool, settle: float, timezone: str, no_analyse: bool
) -> None:
    """The scheduled scraper: poll INBOX and ingest, analyse, score and link new exports.

    The job is kept in the database, so it survives restarts; one pass runs at a
    time across every watcher of the database, and files already processed (same
    path and SHA-256) are skipped. Each pass logs one line with its counts. Without
    --once it also runs the jobs of installed packages: partner alerts (every
    DETECTOR_ALERT_EVERY, digest at DETECTOR_DIGEST_AT, as DETECTOR_ACTOR).
    Stop with Ctrl-C or SIGTERM.
    """
    from ..schedule import parse_interval, run_scheduler

    seconds = parse_interval(every)
    zone(timezone)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("detector")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # not "skipped: still running" every interval
    engine = open_database(db_url)
    try:
        run_scheduler(
            engine, db_url, inbox, every_seconds=seconds, settle_seconds=settle, analyse=not no_analyse,
            timezone=timezone, once=once,
        )
    finally:
        engine.dispose()
