"""`detector case ...`, `detector report`, `detector verify`, `detector partner ...`, `detector alert ...`.

Each command parses its arguments and calls plain functions of this package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from detector.cli_options import db_option

TLP_CHOICES = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of message ids") from exc


def _settings(db_url: str):  # type: ignore[no-untyped-def]
    from detector.config import Settings

    return Settings.from_env().with_(database_url=db_url)


# --------------------------------------------------------------------------- cases


@click.group()
def case() -> None:
    """Open and list referral cases (confirmed and reviewed messages only)."""


@case.command("open")
@db_option
@click.option("--messages", "messages", help="Comma-separated message ids, e.g. 12,40.")
@click.option("--cluster", "cluster_id", type=int, help="Open from a linking cluster (its confirmed members).")
@click.option("--entity", "entity_id", type=int, help="Open from a linked entity (its confirmed messages).")
@click.option("--tlp", required=True, type=click.Choice(TLP_CHOICES, case_sensitive=False), help="Traffic Light Protocol marking.")
@click.option("--summary", default="", help="What the case is about, in a sentence or two.")
@click.option("--mask", "masked", multiple=True, help="A victim's name or a family phone number to mask in redacted reports (repeatable).")
def open_(db_url: str, messages: str | None, cluster_id: int | None, entity_id: int | None, tlp: str, summary: str,
          masked: tuple[str, ...]) -> None:
    """Open a case from messages, a cluster or an entity; print its reference."""
    from detector.db import open_database, session_scope
    from detector.errors import ConfigError

    from .cases import open_case_from

    if sum(x is not None for x in (messages, cluster_id, entity_id)) != 1:
        raise ConfigError("give exactly one of --messages, --cluster or --entity")
    settings = _settings(db_url)
    with session_scope(open_database(db_url)) as session:
        case_ = open_case_from(session, settings.actor, message_ids=_ids(messages) if messages else None,
                               cluster_id=cluster_id, entity_id=entity_id, tlp=tlp, summary=summary, masked=masked)
        click.echo(f"Opened {case_.ref} (TLP:{case_.tlp}) with {len(case_.messages)} message(s).")


@case.command("list")
@db_option
def list_(db_url: str) -> None:
    """List the cases: reference, TLP, messages, opened when and by whom, summary."""
    from detector.db import open_database, session_scope

    from .cases import list_cases

    with session_scope(open_database(db_url)) as session:
        cases = list_cases(session)
        for c in cases:
            ids = ",".join(str(m.message_id) for m in c.messages)
            click.echo(f"{c.ref}\tTLP:{c.tlp}\tmessages {ids}\t{c.created_at:%Y-%m-%d %H:%M} UTC\t{c.created_by}\t{c.summary}")
        if not cases:
            click.echo("No cases yet.")


@case.command("translate")
@db_option
@click.argument("ref")
@click.argument("message_id", type=int)
@click.argument("translation")
def translate(db_url: str, ref: str, message_id: int, translation: str) -> None:
    """Record the analyst's TRANSLATION of MESSAGE_ID in case REF."""
    from detector.db import open_database, session_scope

    from .cases import get_case, set_translation

    settings = _settings(db_url)
    with session_scope(open_database(db_url)) as session:
        set_translation(session, settings.actor, get_case(session, ref), message_id, translation)
    click.echo(f"Saved the translation of message {message_id} in {ref}.")


@case.command("mask")
@db_option
@click.argument("ref")
@click.argument("values", nargs=-1, required=True)
def mask(db_url: str, ref: str, values: tuple[str, ...]) -> None:
    """Mark VALUES (victims' names, family phone numbers) to mask in redacted reports of case REF."""
    from detector.db import open_database, session_scope

    from .cases import add_masks, get_case

    settings = _settings(db_url)
    with session_scope(open_database(db_url)) as session:
        add_masks(session, settings.actor, get_case(session, ref), values)
    click.echo(f"{len(values)} value(s) will be masked in redacted reports of {ref}.")


# --------------------------------------------------------------------------- reports


@click.command("report")
@db_option
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "json", "csv"]), default="html", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: REF.FORMAT).")
@click.option("--redact", is_flag=True, help="For wider distribution: victims' names and family phones masked, no original photos.")
@click.option("--with-photos", "photos", type=click.Choice(["blurred", "original", "none"]), default="blurred",
              show_default=True, help="How photos appear (originals only on explicit request, never when redacted).")
def report(db_url: str, ref: str, fmt: str, out: Path | None, redact: bool, photos: str) -> None:
    """Write the referral report of case REF (a lead for investigation, not a finding)."""
    from detector.db import open_database, session_scope

    from .cases import get_case
    from .export import render_case, write_atomically

    settings = _settings(db_url)
    with session_scope(open_database(db_url)) as session:
        case_ = get_case(session, ref)
        data = render_case(session, case_, fmt, evidence_dir=settings.evidence_dir, actor=settings.actor,
                           redact=redact, photos=photos)
        target = out or Path(f"{case_.ref}{'-redacted' if redact else ''}.{fmt}")
        write_atomically(target, data)
    click.echo(f"Wrote {target} ({len(data):,} bytes, {fmt}{', redacted' if redact else ''}).")


@click.command("verify")
@db_option
@click.argument("report_path", metavar="REPORT.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--evidence", "evidence_dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="DETECTOR_EVIDENCE_DIR", default="evidence", show_default=True, help="The evidence store.")
def verify(db_url: str, report_path: Path, evidence_dir: Path) -> None:
    """Recompute every hash of a JSON report against the database and the evidence store.

    Exit status 0 when everything matches; 1 with one line per mismatch.
    """
    from detector.db import open_database, session_scope

    from .verify import load_report, verify_report

    report_ = load_report(report_path)
    with session_scope(open_database(db_url)) as session:
        problems = verify_report(session, evidence_dir, report_)
    for line in problems:
        click.echo(f"MISMATCH {line}")
    if problems:
        click.echo(f"{report_path}: {len(problems)} mismatch(es)", err=True)
        sys.exit(1)
    counted = len(report_["messages"])
    click.echo(f"{report_path}: all hashes match ({counted} message(s), their export files and photos).")
