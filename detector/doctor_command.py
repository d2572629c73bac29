"""`detector doctor`: a thin shell around detector.doctor."""

from __future__ import annotations

import json

import click
from rich.console import Console

from .cli_options import db_option, json_option, settings_for
from .doctor import examine, open_for_checks, repair, summary_line
from .ingest.evidence import EvidenceStore


@click.command("doctor")
@db_option
@click.option("--fix", is_flag=True, help="Remove orphaned blobs and stale temporary files (nothing else).")
@click.option("--actor", default=None, help="Who runs --fix, for the audit event (default: DETECTOR_ACTOR or USER).")
@json_option
@click.pass_context
def doctor_command(ctx: click.Context, db_url: str, fix: bool, actor: str | None, as_json: bool) -> None:
    """Check the database and the evidence store; exit status 1 when something is wrong.

    Checks: database integrity and foreign keys (SQLite PRAGMAs; PostgreSQL by query,
    plus NOT VALID constraints, invalid indexes and amcheck when installed), the newest
    migration applied, every referenced blob present with the SHA-256 of its name and
    row, and no orphaned blobs, temporary files or strangers in the store. One line per
    finding, then a summary. `--fix` removes only what nothing references (orphaned
    blobs, and only when the database checks clean; temporary files no live ingest is
    writing) and records one audit event. The database is never created nor migrated.
    """
    settings = settings_for(db_url, actor=actor)
    store = EvidenceStore(settings.evidence_dir)
    engine = open_for_checks(db_url)
    try:
        from .ingest.commands import RichProgress

        with RichProgress(Console(stderr=True)) as progress:
            progress.file("verifying evidence")
            report = examine(engine, store, progress=progress)
        if fix:
            repair(engine, store, report, settings.actor)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for finding in report.findings:
            mark = "removed " if finding in report.removed else ""
            click.echo(f"{mark}{finding.line()}")
        click.echo(summary_line(report))
    if report.problems:
        ctx.exit(1)
