"""`detector case ...`, `detector report`, `detector verify`, `detector partner ...`, `detector alert ...`.

Each command parses its arguments and calls plain functions of this package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from detector.cli_options import db_option, settings_for

TLP_CHOICES = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of message ids") from exc


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
    settings = settings_for(db_url)
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

    settings = settings_for(db_url)
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

    settings = settings_for(db_url)
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
    from .export import prepare_export, record_export, render_prepared, write_atomically

    settings = settings_for(db_url)
    engine = open_database(db_url)
    with session_scope(engine) as session:  # a short read; nothing is written yet
        prepared = prepare_export(session, get_case(session, ref), fmt, evidence_dir=settings.evidence_dir,
                                  actor=settings.actor, redact=redact, photos=photos)
    data = render_prepared(prepared)  # slow for PDF: no transaction is open meanwhile
    target = out or Path(f"{prepared.ref}{'-redacted' if redact else ''}.{fmt}")
    write_atomically(target, data)
    try:
        with session_scope(engine) as session:  # a short write: the audit row names the bytes written
            record_export(session, prepared, data)
    except BaseException:
        target.unlink(missing_ok=True)  # an export nobody audited does not stay behind
        raise
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


# --------------------------------------------------------------------------- partners and alerts


@click.group()
def partner() -> None:
    """Configure the partners who receive alerts."""


@partner.command("add")
@db_option
@click.argument("name")
@click.option("--email", help="Send alerts by e-mail to this address (SMTP from DETECTOR_SMTP_*).")
@click.option("--webhook", help="POST alerts to this https:// URL, signed with --secret.")
@click.option("--secret", default="", help="HMAC-SHA256 key for webhook signatures (16+ characters).")
@click.option("--language", "languages", multiple=True, help="Only messages in this language (repeatable; default all).")
@click.option("--place", "places", multiple=True, help="Only messages naming this place (repeatable; default all).")
@click.option("--min-severity", type=click.Choice(["low", "medium", "high", "critical"]), default="low", show_default=True,
              help="critical: suspected minors; high/medium/low: by model score.")
def partner_add(db_url: str, name: str, email: str | None, webhook: str | None, secret: str,
                languages: tuple[str, ...], places: tuple[str, ...], min_severity: str) -> None:
    """Add partner NAME with one channel and its filters."""
    from detector.db import open_database, session_scope

    from .partners import add_partner

    settings = settings_for(db_url)
    with session_scope(open_database(db_url)) as session:
        p = add_partner(session, settings.actor, name, email=email, webhook=webhook, secret=secret,
                        languages=languages, places=places, min_severity=min_severity)
        click.echo(f"Added partner {p.name} ({p.channel} {p.address}).")


@partner.command("list")
@db_option
def partner_list(db_url: str) -> None:
    """List partners: channel, address, filters."""
    from detector.db import open_database, session_scope

    from .partners import list_partners

    with session_scope(open_database(db_url)) as session:
        partners = list_partners(session)
        for p in partners:
            click.echo(f"{p.name}\t{p.channel}\t{p.address}\tlanguages {','.join(p.languages) or 'all'}\t"
                       f"places {','.join(p.places) or 'all'}\tmin {p.min_severity}\t{'active' if p.active else 'paused'}")
        if not partners:
            click.echo("No partners yet.")


@click.group()
def alert() -> None:
    """Send alerts to partners (immediate for suspected minors, a daily digest otherwise)."""


@alert.command("run")
@db_option
@click.option("--once", is_flag=True, help="One pass (queue and send what is due), then exit.")
@click.option("--digest", is_flag=True, help="With --once: queue the daily digest now too.")
@click.option("--every", default="60s", show_default=True, help="How often to look for new alerts and retries.")
@click.option("--digest-at", default="08:00", show_default=True, help="Time of the daily digest (HH:MM, UTC).")
def alert_run(db_url: str, once: bool, digest: bool, every: str, digest_at: str) -> None:
    """Run the alert scheduler (APScheduler), or one pass with --once."""
    import logging

    from detector.db import open_database
    from detector.schedule import parse_interval

    from .schedule import alert_pass, parse_clock, run_alerts
    from .transport import SmtpSettings

    smtp, engine = SmtpSettings.from_env(), open_database(db_url)
    if once:
        queued, run = alert_pass(engine, smtp=smtp, digest=digest)
        click.echo(f"Alerts: {queued} queued; {run.line()}.")
        for delivery_id, error in run.failed:
            click.echo(f"delivery {delivery_id} failed: {error}", err=True)
        return
    seconds = parse_interval(every)
    parse_clock(digest_at)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    click.echo(f"Alerts every {every}, digest daily at {digest_at} UTC (Ctrl+C to stop).")
    run_alerts(engine, smtp=smtp, every_seconds=seconds, digest_at=digest_at)


@alert.command("test")
@db_option
@click.argument("name")
def alert_test(db_url: str, name: str) -> None:
    """Send a test alert to partner NAME now (a failure stays in the outbox and is retried)."""
    from detector.db import open_database, session_scope

    from .alerts import queue_test
    from .outbox import deliver
    from .partners import get_partner
    from .transport import SmtpSettings

    smtp, engine = SmtpSettings.from_env(), open_database(db_url)
    with session_scope(engine) as session:
        delivery_id = queue_test(session, get_partner(session, name)).id
    run = deliver(engine, delivery_id, smtp=smtp)
    if run.failed:
        click.echo(f"Test alert to {name} failed: {run.failed[0][1]} (kept in the outbox; will be retried)", err=True)
        sys.exit(1)
    click.echo(f"Test alert sent to {name} (delivery {delivery_id}).")
