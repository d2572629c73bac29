"""Partners who receive alerts: one channel (e-mail or signed webhook) and what they want to hear about."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.errors import ConfigError, NotFoundError
from detector.schema import AuditEvent, Partner

SEVERITIES = ("low", "medium", "high", "critical")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
MIN_SECRET = 16
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def check_webhook_url(url: str) -> str:
    """HTTPS only (plain HTTP is accepted for a receiver on this machine's loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise ConfigError(f"webhook URL {url!r} must use https:// (http:// only for localhost)")


def add_partner(session: Session, actor: str, name: str, *, email: str | None = None, webhook: str | None = None,
                secret: str = "", languages: Sequence[str] = (), places: Sequence[str] = (),
                min_severity: str = "low") -> Partner:
    """Configure a partner with exactly one channel; webhooks need a secret of 16 characters or more."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ConfigError("a partner name must have 1 to 100 characters")
    if session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
        raise ConfigError(f"a partner named {name!r} already exists")
    if (email is None) == (webhook is None):
        raise ConfigError("give exactly one channel: --email ADDRESS or --webhook URL")
    if min_severity not in SEVERITIES:
        raise ConfigError(f"unknown severity {min_severity!r}: use one of {', '.join(SEVERITIES)}")
    if email is not None:
        if not _EMAIL.match(email):
            raise ConfigError(f"{email!r} is not an e-mail address")
        channel, address = "email", email
    else:
        if len(secret) < MIN_SECRET:
            raise ConfigError(f"a webhook needs --secret of at least {MIN_SECRET} characters (for the HMAC signature)")
        channel, address = "webhook", check_webhook_url(str(webhook))
    partner = Partner(name=name, channel=channel, address=address, secret=secret,
                      languages=sorted({x.strip().lower() for x in languages if x.strip()}),
                      places=sorted({x.strip() for x in places if x.strip()}), min_severity=min_severity)
    session.add(partner)
    session.flush()
    session.add(AuditEvent(actor=actor, action="partner_add", object_type="partner", object_id=str(partner.id),
                           after={"name": name, "channel": channel, "address": address, "languages": partner.languages,
                                  "places": partner.places, "min_severity": min_severity}))
    return partner


def get_partner(session: Session, name: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.name == name))
    if partner is None:
        raise NotFoundError(f"no partner named {name!r}")
    return partner


def list_partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).order_by(Partner.name)))
