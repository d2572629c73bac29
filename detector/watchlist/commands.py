"""`detector watchlist add|import|list|match`: thin shells around `store` and `match`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..cli_options import db_option, json_option, settings_for
from ..config import Settings, operator_name
from ..db import open_database, session_scope


def _actor_option(func):  # type: ignore[no-untyped-def]
    return click.option("--actor", default=None, metavar="NAME",
                        help="Who does this, for the audit event (default: DETECTOR_ACTOR, then USER).")(func)


def _operator(db_url: str, actor: str | None) -> Settings:
    settings = settings_for(db_url)
    return settings.with_(actor=operator_name(actor or settings.actor))


def _bar(console: Console, disable: bool) -> Progress:
    return Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True, disable=disable)


@click.group("watchlist")
def watchlist() -> None:
    """Missing-person watchlists: PDQ hashes partners supply, matched against every listing photo.

    Photos given to `import` are hashed here and never stored; entries keep only hashes,
    quality, the owner's opaque reference and who added them. Format: docs/watchlists.md.
    """


@watchlist.command("add")
@db_option
@_actor_option
@click.argument("name")
@click.option("--owner", required=True, metavar="PARTNER", help="The partner that owns the list and gets its alerts.")
def add_command(db_url: str, actor: str | None, name: str, owner: str) -> None:
    """Create the empty watchlist NAME owned by partner PARTNER."""
    from .store import add_watchlist

    settings = _operator(db_url, actor)
    with session_scope(open_database(db_url)) as session:
        add_watchlist(session, settings.actor, name, owner)
    Console(stderr=True).print(f"Watchlist “{escape(name)}” created for {escape(owner)}.", highlight=False)


@watchlist.command("import")
@db_option
@_actor_option
@json_option
@click.argument("name")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, db_url: str, actor: str | None, as_json: bool, name: str, source: Path) -> None:
    """Add the hashes in SOURCE to watchlist NAME: a hash file, a photo, or a folder of them.

    Hash files (.txt .csv .pdq) hold `PDQ_HEX,QUALITY,REFERENCE` lines; a photo is hashed here
    (whole, crops) and never stored, its file name without extension being its reference.
    A refused line or photo is one line on stderr and the rest is imported (exit status 1);
    importing the same hashes again adds nothing. Then run `detector watchlist match --all`
    to check the photos already stored.
    """
    from .store import get_watchlist, import_entries, read_entries

    settings = _operator(db_url, actor)
    engine = open_database(db_url)
    with session_scope(engine) as session:
        get_watchlist(session, name)  # an unknown list is refused before any file is read
    console = Console(stderr=True)
    with Progress(TextColumn("hashing {task.description}", markup=False), TimeElapsedColumn(), console=console,
                  transient=True, disable=as_json) as progress:
        task = progress.add_task(str(source))
        read = read_entries(source, lambda file: progress.update(task, description=file.name))
    with session_scope(engine) as session:
        summary = import_entries(session, settings.actor, get_watchlist(session, name), read.entries)
    for problem in read.problems:
        click.echo(problem, err=True)
    if as_json:
        click.echo(json.dumps({"files": read.files, "added": summary.added, "already": summary.already,
                               "refused": len(read.problems)}))
    else:
        console.print(f"{read.files} file(s) read: {summary.added} entr(y/ies) added, {summary.already} already on "
                      f"the list, {len(read.problems)} refused.", highlight=False)
    if read.problems:
        ctx.exit(1)


@watchlist.command("list")
@db_option
@json_option
def list_command(db_url: str, as_json: bool) -> None:
    """Every watchlist with its owner and how many entries and matches it has (no references)."""
    from .store import list_watchlists

    with session_scope(open_database(db_url)) as session:
        rows = list_watchlists(session)
    if as_json:
        click.echo(json.dumps([{"name": r.name, "owner": r.owner, "entries": r.entries, "matches": r.matches,
                                "created_by": r.created_by, "created_at": r.created_at.isoformat()} for r in rows],
                              ensure_ascii=False))
        return
    table = Table("Watchlist", "Owner", "Entries", "Matches", "Created by", "Created")
    for r in rows:
        table.add_row(escape(r.name), escape(r.owner), str(r.entries), str(r.matches), escape(r.created_by),
                      f"{r.created_at:%Y-%m-%d %H:%M}")
    Console().print(table if rows else "No watchlists yet: `detector watchlist add NAME --owner PARTNER`.")


@watchlist.command("match")
@db_option
@json_option
@click.option("--all", "all_photos", is_flag=True, help="Check every stored photo (the one-off backfill).")
def match_command(db_url: str, as_json: bool, all_photos: bool) -> None:
    """Match stored photos against every watchlist; matched messages become critical queue items.

    New photos are matched as `detector link` (and the watch job) hashes them; `--all` checks
    every photo already stored, e.g. after importing a list.
    """
    from .match import count_stored_photos, match_all

    if not all_photos:
        raise click.UsageError("new photos are matched as they are linked; give --all to check every stored photo")
    settings = settings_for(db_url)
    engine = open_database(db_url)
    console = Console(stderr=True)
    with _bar(console, as_json) as progress:
        task = progress.add_task("matching photos", total=count_stored_photos(engine))
        summary = match_all(engine, settings, lambda n: progress.advance(task, n))
    if as_json:
        click.echo(json.dumps({"photos": summary.photos, "matches_new": summary.matches_new,
                               "critical_items": summary.critical_items, "skipped": dict(summary.skipped)}))
        return
    console.print(f"Checked {summary.photos} photo(s): {summary.matches_new} new watchlist match(es), "
                  f"{summary.critical_items} queue item(s) made critical.", highlight=False)
    for reason, count in sorted(summary.skipped.items()):
        console.print(f"  skipped {count}: {reason.replace('_', ' ')}", highlight=False)
