"""Partners who receive alerts: one channel (e-mail or signed webhook), what they want to hear about,
the most restricted TLP they may receive, and their signing secret.

A signing secret cannot be stored hashed: HMAC needs the secret itself to sign. So it is stored
encrypted (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`) under a partner key kept outside
the database: DETECTOR_PARTNER_KEY_FILE, by default `.detector-partner-key` beside the evidence
store, created once with mode 0600. A copy of the database alone does not reveal the secrets.
Secrets stored in plain text before this (no `fernet:` prefix) still work until rotated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from detector.config import Settings
from detector.errors import ConfigError, InputError, NotFoundError
from detector.schema import AuditEvent, Delivery, Partner

from .cases import check_tlp

SEVERITIES = ("low", "medium", "high", "critical")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
MIN_SECRET = 16
SEALED = "fernet:"
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class SecretBox:
    """Encrypts partners' signing secrets for the database and opens them to sign.

    The key file is read (or created, 0600) on first use only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_settings(cls, settings: Settings) -> "SecretBox":
        """DETECTOR_PARTNER_KEY_FILE, or `.detector-partner-key` beside the evidence store."""
        default = settings.evidence_dir.resolve().parent / ".detector-partner-key"
        return cls(Path(os.environ.get("DETECTOR_PARTNER_KEY_FILE") or default))

    @cached_property
    def _fernet(self) -> Fernet:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            try:
                return Fernet(self.path.read_bytes().strip())
            except (OSError, ValueError):
                raise InputError(self.path, "not a readable partner key (44 characters of URL-safe base64)") from None
        except OSError as exc:
            raise InputError(self.path, f"cannot create the partner key ({exc.strerror})") from exc
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return Fernet(key)

    def seal(self, secret: str) -> str:
        return SEALED + self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The secret (a value stored before encryption is returned as it is)."""
        if not stored.startswith(SEALED):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED).encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError("a partner secret does not open with this partner key "
                              f"({self.path}): use the key it was stored with, or rotate the secret") from None


def check_webhook_url(url: str) -> str:
    """HTTPS only (plain HTTP is accepted for a receiver on this machine's loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise ConfigError(f"webhook URL {url!r} must use https:// (http:// only for localhost)")


def check_secret(secret: str) -> str:
    secret = secret.strip()
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"a signing secret needs at least {MIN_SECRET} characters (for the HMAC signature)")
    return secret


def add_partner(session: Session, actor: str, name: str, *, box: SecretBox | None = None, email: str | None = None,
                webhook: str | None = None, secret: str = "", languages: Sequence[str] = (),
                places: Sequence[str] = (), min_severity: str = "low", max_tlp: str = "AMBER") -> Partner:
    """Configure a partner with exactly one channel; webhooks need a secret of 16 characters or more
    (e-mail partners may have one: their alerts are then signed too)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ConfigError("a partner name must have 1 to 100 characters")
    if session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
        raise ConfigError(f"a partner named {name!r} exists or existed (removed partners keep their name)")
    if (email is None) == (webhook is None):
        raise ConfigError("give exactly one channel: --email ADDRESS or --webhook URL")
    if min_severity not in SEVERITIES:
        raise ConfigError(f"unknown severity {min_severity!r}: use one of {', '.join(SEVERITIES)}")
    if email is not None:
        if not _EMAIL.match(email):
            raise ConfigError(f"{email!r} is not an e-mail address")
        channel, address = "email", email
    else:
        channel, address = "webhook", check_webhook_url(str(webhook))
        check_secret(secret)
    if secret and box is None:
        raise ConfigError("a partner key is needed to store a signing secret")
    partner = Partner(name=name, channel=channel, address=address,
                      secret=box.seal(check_secret(secret)) if secret and box else "",
                      languages=sorted({x.strip().lower() for x in languages if x.strip()}),
                      places=sorted({x.strip() for x in places if x.strip()}), min_severity=min_severity,
                      max_tlp=check_tlp(max_tlp))
    session.add(partner)
    session.flush()
    session.add(AuditEvent(actor=actor, action="partner_add", object_type="partner", object_id=str(partner.id),
                           after={"name": name, "channel": channel, "address": address, "languages": partner.languages,
                                  "places": partner.places, "min_severity": min_severity, "max_tlp": partner.max_tlp,
                                  "signed": bool(secret)}))
    return partner


def get_partner(session: Session, name: str) -> Partner:
    """A partner that has not been removed, by name."""
    partner = session.scalar(select(Partner).where(Partner.name == name, Partner.removed_at.is_(None)))
    if partner is None:
        raise NotFoundError(f"no partner named {name!r}")
    return partner


def list_partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).where(Partner.removed_at.is_(None)).order_by(Partner.name)))


def _audit(session: Session, actor: str, partner: Partner, action: str, **after: object) -> None:
    session.add(AuditEvent(actor=actor, action=action, object_type="partner", object_id=str(partner.id),
                           after={"name": partner.name, **after}))


def set_active(session: Session, actor: str, name: str, active: bool) -> Partner:
    """Pause a partner (nothing is queued or sent to it; its pending deliveries wait) or resume it."""
    partner = get_partner(session, name)
    partner.active = active
    _audit(session, actor, partner, "partner_enable" if active else "partner_disable")
    return partner


def remove_partner(session: Session, actor: str, name: str, now: datetime | None = None) -> int:
    """Remove a partner: its secret is erased, its pending deliveries withdrawn, its history kept.

    Returns the number of deliveries withdrawn."""
    partner = get_partner(session, name)
    partner.active, partner.secret = False, ""
    partner.removed_at = now or datetime.now(timezone.utc)
    withdrawn = cast(CursorResult[Any], session.execute(
        update(Delivery).where(Delivery.partner_id == partner.id, Delivery.status == "pending")
        .values(status="withdrawn"))).rowcount
    _audit(session, actor, partner, "partner_remove", deliveries_withdrawn=withdrawn)
    return withdrawn


def rotate_secret(session: Session, actor: str, name: str, secret: str, box: SecretBox) -> Partner:
    """Give the partner a new signing secret (deliveries not yet sent are signed with it)."""
    partner = get_partner(session, name)
    partner.secret = box.seal(check_secret(secret))
    _audit(session, actor, partner, "partner_rotate_secret")
    return partner
