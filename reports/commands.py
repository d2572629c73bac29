"""`detector case ...`, `detector report`, `detector verify`, `detector partner ...`, `detector alert ...`.

Each command parses its arguments and calls plain functions of this package.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from detector.cli_options import db_option, settings_for

TLP_CHOICES = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
F = TypeVar("F", bound=Callable[..., Any])


def key_dir_option(func: F) -> F:
    """`--key-dir`, falling back to DETECTOR_KEY_DIR, then the XDG state folder."""
    return click.option("--key-dir", "key_dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="DETECTOR_KEY_DIR", default=None,
                        help="Folder of the signing key (default: ~/.local/state/detector/keys).")(func)


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of message ids") from exc


def actor_option(func):  # type: ignore[no-untyped-def]
    """`--actor NAME`: the person the audit events name (default DETECTOR_ACTOR, then USER; never "detector")."""
    return click.option("--actor", default=None, metavar="NAME",
                        help="Who does this, for the audit log (default: DETECTOR_ACTOR, then USER).")(func)


def _operator(db_url: str, actor: str | None):  # type: ignore[no-untyped-def]
    """The command's Settings with the acting person checked (a program's name is refused)."""
    from detector.config import operator_name

    settings = settings_for(db_url)
    return settings.with_(actor=operator_name(actor or settings.actor))


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
@click.option("--mask", "masked", multiple=True, help="A victim's name or a family phone number to mask in redacted reports and alerts (repeatable).")
@actor_option
def open_(db_url: str, messages: str | None, cluster_id: int | None, entity_id: int | None, tlp: str, summary: str,
          masked: tuple[str, ...], actor: str | None) -> None:
    """Open a case from messages, a cluster or an entity; print its reference."""
    from detector.db import open_database, session_scope
    from detector.errors import ConfigError

    from .cases import open_case_from

    if sum(x is not None for x in (messages, cluster_id, entity_id)) != 1:
        raise ConfigError("give exactly one of --messages, --cluster or --entity")
    settings = _operator(db_url, actor)
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
@actor_option
def translate(db_url: str, ref: str, message_id: int, translation: str, actor: str | None) -> None:
    """Record the analyst's TRANSLATION of MESSAGE_ID in case REF."""
    from detector.db import open_database, session_scope

    from .cases import get_case, set_translation

    settings = _operator(db_url, actor)
    with session_scope(open_database(db_url)) as session:
        set_translation(session, settings.actor, get_case(session, ref), message_id, translation)
    click.echo(f"Saved the translation of message {message_id} in {ref}.")


@case.command("mask")
@db_option
@click.argument("ref")
@click.argument("values", nargs=-1, required=True)
@actor_option
def mask(db_url: str, ref: str, values: tuple[str, ...], actor: str | None) -> None:
    """Mark VALUES (victims' names, family phone numbers) to mask in redacted reports of case REF
    and in every alert about its messages."""
    from detector.db import open_database, session_scope

    from .cases import add_masks, get_case

    settings = _operator(db_url, actor)
    with session_scope(open_database(db_url)) as session:
        add_masks(session, settings.actor, get_case(session, ref), values)
    click.echo(f"{len(values)} value(s) will be masked in redacted reports and alerts of {ref}.")


@case.command("tlp")
@db_option
@click.argument("ref")
@click.argument("level", type=click.Choice(TLP_CHOICES, case_sensitive=False))
@actor_option
def case_tlp(db_url: str, ref: str, level: str, actor: str | None) -> None:
    """Change the TLP 2.0 marking of case REF (its reports and alerts carry it)."""
    from detector.db import open_database, session_scope

    from .cases import get_case, set_tlp

    settings = _operator(db_url, actor)
    with session_scope(open_database(db_url)) as session:
        case_ = get_case(session, ref)
        set_tlp(session, settings.actor, case_, level)
        click.echo(f"{case_.ref} is now TLP:{case_.tlp}.")


# --------------------------------------------------------------------------- reports


@click.command("report")
@db_option
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "json", "csv", "stix"]), default="html", show_default=True,
              help="stix: a STIX 2.1 bundle (REF.stix.json) for threat-intelligence platforms such as OpenCTI and MISP.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: REF.FORMAT).")
@click.option("--redact", is_flag=True, help="For wider distribution: victims' names and family phones masked, no original photos.")
@click.option("--with-photos", "photos", type=click.Choice(["blurred", "original", "none"]), default="blurred",
              show_default=True, help="How photos appear (originals only on explicit request, never when redacted).")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a signed zip instead: PDF (JSON embedded), JSON, CSV, the cited originals, "
                   "MANIFEST.sha256, its Ed25519 signature, key.pem and VERIFY.txt (see `detector keys`).")
@key_dir_option
def report(db_url: str, ref: str, fmt: str, out: Path | None, redact: bool, photos: str, bundle_path: Path | None,
           key_dir: Path | None) -> None:
    """Write the referral report of case REF (a lead for investigation, not a finding)."""
    from detector.db import open_database, session_scope
    from detector.errors import ConfigError

    from .cases import get_case
    from .export import prepare_export, record_export, render_prepared, write_atomically

    settings = settings_for(db_url)
    engine = open_database(db_url)
    if bundle_path is not None:
        if out is not None:
            raise ConfigError("give either --out (one format) or --bundle (the signed zip), not both")
        _write_bundle(engine, settings, ref, bundle_path, key_dir, redact, photos)
        return
    with session_scope(engine) as session:  # a short read; nothing is written yet
        prepared = prepare_export(session, get_case(session, ref), fmt, evidence_dir=settings.evidence_dir,
                                  actor=settings.actor, redact=redact, photos=photos)
    data = render_prepared(prepared)  # slow for PDF: no transaction is open meanwhile
    target = out or Path(f"{prepared.ref}{'-redacted' if redact else ''}.{'stix.json' if fmt == 'stix' else fmt}")
    write_atomically(target, data)
    try:
        with session_scope(engine) as session:  # a short write: the audit row names the bytes written
            record_export(session, prepared, data)
    except BaseException:
        target.unlink(missing_ok=True)  # an export nobody audited does not stay behind
        raise
    click.echo(f"Wrote {target} ({len(data):,} bytes, {fmt}{', redacted' if redact else ''}).")


def _write_bundle(engine, settings, ref: str, target: Path, key_dir: Path | None, redact: bool,  # type: ignore[no-untyped-def]
                  photos: str) -> None:
    """Build, write and audit a signed bundle (the zip is removed again when the audit fails)."""
    from detector.db import session_scope

    from .bundle import build_bundle, record_bundle
    from .export import write_atomically
    from .keys import default_key_dir

    click.echo(f"Building the signed bundle of {ref} (the PDF takes a while)...", err=True)
    prepared, bundle = build_bundle(engine, ref, evidence_dir=settings.evidence_dir,
                                    key_dir=key_dir or default_key_dir(), actor=settings.actor, redact=redact,
                                    photos=photos)
    write_atomically(target, bundle.data)
    try:
        with session_scope(engine) as session:
            record_bundle(session, prepared, bundle)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    click.echo(f"Wrote {target} ({len(bundle.data):,} bytes, {len(bundle.files)} files{', redacted' if redact else ''}), "
               f"signed with key {bundle.key_fingerprint}.")


@click.command("verify")
@db_option
@click.argument("report_path", metavar="REPORT.json|BUNDLE.zip", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--evidence", "evidence_dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="DETECTOR_EVIDENCE_DIR", default="evidence", show_default=True, help="The evidence store.")
@key_dir_option
def verify(db_url: str, report_path: Path, evidence_dir: Path, key_dir: Path | None) -> None:
    """Check a JSON report or a signed bundle against the database and the evidence store.

    A bundle is checked as `sha256sum -c` and `openssl pkeyutl -verify` would (every file against
    MANIFEST.sha256, its signature, by this installation's key) and more: each message's facts and
    hashes against the stored evidence. Exit status 0 when everything matches; 1 with one line per problem.
    """
    import zipfile

    from detector.db import open_database, session_scope

    from .verify import load_report, verify_report

    if zipfile.is_zipfile(report_path):
        from .bundle_check import check_bundle, read_bundle
        from .keys import default_key_dir, load_public

        files, installation_key = read_bundle(report_path), load_public(key_dir or default_key_dir())
        with session_scope(open_database(db_url)) as session:
            report_, problems = check_bundle(session, evidence_dir, files, installation_key)
        what = f"{len(files)} files, signature by this installation's key, "
    else:
        report_ = load_report(report_path)
        with session_scope(open_database(db_url)) as session:
            problems = verify_report(session, evidence_dir, report_, report_path.read_bytes())
        what = ""
    for line in problems:
        click.echo(f"MISMATCH {line}")
    if problems or report_ is None:
        click.echo(f"{report_path}: {len(problems)} mismatch(es)", err=True)
        sys.exit(1)
    counted = len(report_["messages"])
    click.echo(f"{report_path}: all hashes match ({what}{counted} message(s), their export files and photos).")


# --------------------------------------------------------------------------- signing keys


@click.group()
def keys() -> None:
    """The installation's Ed25519 key that signs referral bundles (kept outside the database)."""


@keys.command("init")
@key_dir_option
def keys_init(key_dir: Path | None) -> None:
    """Generate the signing key once (private file 0600, never exported); print its fingerprint."""
    from .keys import default_key_dir, fingerprint, init_keys

    folder = key_dir or default_key_dir()
    public = init_keys(folder)
    click.echo(f"Created the signing key in {folder} (fingerprint {fingerprint(public)}).")
    click.echo("Give partners the output of `detector keys show` by a channel other than the bundles.")


@keys.command("show")
@key_dir_option
def keys_show(key_dir: Path | None) -> None:
    """Print the public key (PEM) and its fingerprint, for partners who verify bundles."""
    from .keys import default_key_dir, fingerprint, load_public, public_pem

    public = load_public(key_dir or default_key_dir())
    click.echo(public_pem(public).decode("ascii"), nl=False)
    click.echo(f"Fingerprint: {fingerprint(public)}")
    click.echo("(SHA-256 of the key's DER form: openssl pkey -pubin -in key.pem -outform DER | sha256sum)")


# --------------------------------------------------------------------------- partners and alerts


@click.group()
def partner() -> None:
    """Configure the partners who receive alerts."""


WEBHOOK_DOC = "docs/partners.md, section \"Webhook signatures\""


def _secret_input(secret_stdin: bool, secret_file: Path | None) -> str:
    """The signing secret from stdin or a file (first line), never from the command line."""
    from detector.errors import ConfigError, InputError

    if secret_stdin and secret_file:
        raise ConfigError("give --secret-stdin or --secret-file, not both")
    if secret_file is not None:
        try:
            lines = secret_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(secret_file, f"cannot read the secret ({exc.__class__.__name__})") from exc
        return lines[0].strip() if lines else ""
    return sys.stdin.readline().strip() if secret_stdin else ""


def secret_options(func):  # type: ignore[no-untyped-def]
    func = click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path),
                        help="Read the signing secret from the first line of this file.")(func)
    return click.option("--secret-stdin", is_flag=True,
                        help="Read the signing secret (16+ characters) from the first line of stdin.")(func)


@partner.command("add", epilog=f"How a partner checks the signature, with a worked example: {WEBHOOK_DOC}.")
@db_option
@click.argument("name")
@click.option("--email", help="Send alerts by e-mail to this address (SMTP from DETECTOR_SMTP_*).")
@click.option("--webhook", help="POST alerts to this https:// URL, signed with the secret.")
@secret_options
@click.option("--language", "languages", multiple=True, help="Only messages in this language (repeatable; default all).")
@click.option("--place", "places", multiple=True, help="Only messages naming this place (repeatable; default all).")
@click.option("--min-severity", type=click.Choice(["low", "medium", "high", "critical"]), default="low", show_default=True,
              help="critical: suspected minors; high/medium/low: by model score.")
@click.option("--max-tlp", type=click.Choice(TLP_CHOICES, case_sensitive=False), default="AMBER", show_default=True,
              help="The most restricted TLP 2.0 marking this partner may receive.")
@actor_option
def partner_add(db_url: str, name: str, email: str | None, webhook: str | None, secret_stdin: bool,
                secret_file: Path | None, languages: tuple[str, ...], places: tuple[str, ...], min_severity: str,
                max_tlp: str, actor: str | None) -> None:
    """Add partner NAME with one channel and its filters.

    Webhooks are signed with HMAC-SHA256 over "<X-Timestamp>.<body>" under a shared secret
    (required for --webhook; optional for --email, whose alerts are then signed too). The secret
    is read from stdin or a file, never the command line, and stored encrypted.
    """
    from detector.db import open_database, session_scope

    from .partners import SecretBox, add_partner

    settings = _operator(db_url, actor)
    secret = _secret_input(secret_stdin, secret_file)
    with session_scope(open_database(db_url)) as session:
        p = add_partner(session, settings.actor, name, box=SecretBox.for_settings(settings) if secret else None,
                        email=email, webhook=webhook, secret=secret, languages=languages, places=places,
                        min_severity=min_severity, max_tlp=max_tlp)
        click.echo(f"Added partner {p.name} ({p.channel} {p.address}, up to TLP:{p.max_tlp}"
                   f"{', signed' if p.secret else ''}).")


@partner.command("list")
@db_option
def partner_list(db_url: str) -> None:
    """List partners: channel, address, filters, TLP maximum, state."""
    from detector.db import open_database, session_scope

    from .partners import list_partners

    with session_scope(open_database(db_url)) as session:
        partners = list_partners(session)
        for p in partners:
            click.echo(f"{p.name}\t{p.channel}\t{p.address}\tlanguages {','.join(p.languages) or 'all'}\t"
                       f"places {','.join(p.places) or 'all'}\tmin {p.min_severity}\tTLP max {p.max_tlp}\t"
                       f"{'signed' if p.secret else 'unsigned'}\t{'active' if p.active else 'disabled'}")
        if not partners:
            click.echo("No partners yet.")


def _partner_state(db_url: str, name: str, actor: str | None, active: bool) -> None:
    from detector.db import open_database, session_scope

    from .partners import set_active

    settings = _operator(db_url, actor)
    with session_scope(open_database(db_url)) as session:
        set_active(session, settings.actor, name, active)
    click.echo(f"Partner {name} {'enabled' if active else 'disabled: nothing is sent to it until enabled'}.")


@partner.command("disable")
@db_option
@click.argument("name")
@actor_option
def partner_disable(db_url: str, name: str, actor: str | None) -> None:
    """Pause partner NAME: nothing is queued or sent to it (pending deliveries wait) until enabled."""
    _partner_state(db_url, name, actor, False)


@partner.command("enable")
@db_option
@click.argument("name")
@actor_option
def partner_enable(db_url: str, name: str, actor: str | None) -> None:
    """Resume partner NAME (what it missed, retractions included, is queued on the next pass)."""
    _partner_state(db_url, name, actor, True)


@partner.command("remove")
@db_option
@click.argument("name")
@actor_option
def partner_remove(db_url: str, name: str, actor: str | None) -> None:
    """Remove partner NAME: secret erased, pending deliveries withdrawn, history kept (the name stays taken)."""
    from detector.db import open_database, session_scope

    from .partners import remove_partner

    settings = _operator(db_url, actor)
    with session_scope(open_database(db_url)) as session:
        withdrawn = remove_partner(session, settings.actor, name)
    click.echo(f"Removed partner {name} ({withdrawn} pending delivery(ies) withdrawn).")


@partner.command("rotate-secret", epilog=f"How a partner checks the signature: {WEBHOOK_DOC}.")
@db_option
@click.argument("name")
@secret_options
@actor_option
def partner_rotate(db_url: str, name: str, secret_stdin: bool, secret_file: Path | None, actor: str | None) -> None:
    """Give partner NAME a new signing secret (from stdin or a file); unsent deliveries are signed with it."""
    from detector.db import open_database, session_scope
    from detector.errors import ConfigError

    from .partners import SecretBox, rotate_secret

    settings = _operator(db_url, actor)
    secret = _secret_input(secret_stdin, secret_file)
    if not secret:
        raise ConfigError("give the new secret with --secret-stdin or --secret-file")
    with session_scope(open_database(db_url)) as session:
        rotate_secret(session, settings.actor, name, secret, SecretBox.for_settings(settings))
    click.echo(f"Rotated the signing secret of {name}.")


@click.group()
def alert() -> None:
    """Send alerts to partners (immediate for suspected minors, a daily digest otherwise)."""


@alert.command("run")
@db_option
@click.option("--once", is_flag=True, help="One pass (queue and send what is due), then exit.")
@click.option("--digest", is_flag=True, help="With --once: queue the daily digest now too.")
@click.option("--every", default="60s", show_default=True, help="How often to look for new alerts and retries.")
@click.option("--digest-at", default="08:00", show_default=True, help="Time of the daily digest (HH:MM, UTC).")
@actor_option
def alert_run(db_url: str, once: bool, digest: bool, every: str, digest_at: str, actor: str | None) -> None:
    """Run the alert scheduler (APScheduler), or one pass with --once: new alerts, retractions of
    withdrawn confirmations and updates of changed items."""
    import logging

    from detector.db import open_database
    from detector.schedule import parse_interval

    from .partners import SecretBox
    from .schedule import alert_pass, parse_clock, run_alerts
    from .transport import SmtpSettings

    settings = _operator(db_url, actor)
    smtp, engine, box = SmtpSettings.from_env(), open_database(db_url), SecretBox.for_settings(settings)
    if once:
        queued, run = alert_pass(engine, smtp=smtp, actor=settings.actor, box=box, digest=digest)
        click.echo(f"Alerts: {queued} queued; {run.line()}.")
        for delivery_id, error in run.failed:
            click.echo(f"delivery {delivery_id} failed: {error}", err=True)
        return
    seconds = parse_interval(every)
    parse_clock(digest_at)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    click.echo(f"Alerts every {every}, digest daily at {digest_at} UTC (Ctrl+C to stop).")
    run_alerts(engine, smtp=smtp, actor=settings.actor, box=box, every_seconds=seconds, digest_at=digest_at)


@alert.command("test")
@db_option
@click.argument("name")
@actor_option
def alert_test(db_url: str, name: str, actor: str | None) -> None:
    """Send a test alert to partner NAME now (a failure stays in the outbox and is retried)."""
    from detector.db import open_database, session_scope

    from .alerts import queue_test
    from .outbox import deliver
    from .partners import SecretBox, get_partner
    from .transport import SmtpSettings

    settings = _operator(db_url, actor)
    smtp, engine = SmtpSettings.from_env(), open_database(db_url)
    with session_scope(engine) as session:
        delivery_id = queue_test(session, settings.actor, get_partner(session, name)).id
    run = deliver(engine, delivery_id, smtp=smtp, actor=settings.actor, box=SecretBox.for_settings(settings))
    if run.failed:
        click.echo(f"Test alert to {name} failed: {run.failed[0][1]} (kept in the outbox; will be retried)", err=True)
        sys.exit(1)
    click.echo(f"Test alert sent to {name} (delivery {delivery_id}).")
