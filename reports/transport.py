"""Sending one alert: e-mail over SMTP, or an HTTPS POST, signed with HMAC-SHA256.

SMTP comes from DETECTOR_SMTP_HOST, _PORT, _TLS (starttls | ssl | none), _USER, _PASSWORD
and _FROM. A partner with a secret (every webhook; e-mail when given one) gets
`X-Signature: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<body>">` under its secret, with
`X-Timestamp` (Unix seconds of this attempt) and `X-Delivery-Id` (a uuid4, the same on every
retry, so a receiver can drop a repeat); by e-mail the body is the `alert.json` attachment.
docs/partners.md ("Webhook signatures") is the partner's recipe to check them.
DETECTOR_CA_BUNDLE names extra certificate authorities to trust (a partner's private CA).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from detector.errors import ConfigError, DetectorError
from detector.schema import Delivery

WEBHOOK_TIMEOUT = 20.0


class DeliveryFailed(DetectorError):
    """The partner's server did not take the alert (it stays in the outbox and is retried)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    tls: str = "starttls"
    user: str = ""
    password: str = ""
    sender: str = "detector@localhost"

    @classmethod
    def from_env(cls) -> "SmtpSettings":
        env = os.environ.get
        tls = env("DETECTOR_SMTP_TLS", cls.tls).lower()
        if tls not in ("starttls", "ssl", "none"):
            raise ConfigError(f"DETECTOR_SMTP_TLS={tls!r}: use starttls, ssl or none")
        port = env("DETECTOR_SMTP_PORT", "465" if tls == "ssl" else "25")
        if not port.isdigit():
            raise ConfigError(f"DETECTOR_SMTP_PORT={port!r} is not a port number")
        return cls(env("DETECTOR_SMTP_HOST", cls.host), int(port), tls, env("DETECTOR_SMTP_USER", ""),
                   env("DETECTOR_SMTP_PASSWORD", ""), env("DETECTOR_SMTP_FROM", cls.sender))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature header value: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, delivery: Delivery, now: float | None = None) -> dict[str, str]:
    """X-Delivery-Id always; X-Timestamp and X-Signature when the partner has a secret."""
    headers = {"X-Delivery-Id": delivery.uid}
    if secret:
        timestamp = str(int(time.time() if now is None else now))
        headers.update({"X-Timestamp": timestamp,
                        "X-Signature": signature(secret, timestamp, delivery.body.encode("utf-8"))})
    return headers


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    bundle = os.environ.get("DETECTOR_CA_BUNDLE")
    if bundle:
        context.load_verify_locations(bundle)
    return context


WHAT = {"immediate": "suspected minor", "digest": "confirmed listing", "retraction": "RETRACTED item",
        "update": "updated item", "watchlist": "watchlist match"}


def subject_of(body: dict) -> str:
    items = body.get("items", [])
    cases = f" {', '.join(body['cases'])}" if body.get("cases") else ""
    if body.get("type") == "test":
        return f"[TLP:{body['tlp']}] Test alert from the trafficking ad detector"
    what = WHAT.get(body.get("type", ""), "item")
    return f"[TLP:{body['tlp']}]{cases} {len(items)} {what}{'s' if len(items) != 1 else ''} ({body['type']})"


def email_text(body: dict) -> str:
    """A plain-text rendering of the alert (the JSON rides along as an attachment)."""
    lines = [f"TLP:{body['tlp']}", f"Delivery {body['delivery_id']}; cases: {', '.join(body['cases']) or 'none yet'}",
             body["notice"], ""]
    if body["type"] == "test":
        lines.append("This is a test alert: the channel works.")
    if body["type"] == "retraction":
        lines += [body["note"], ""]
        for n, item in enumerate(body["items"], 1):
            lines += [f"{n}. WITHDRAWN message {item['external_id']} (first alerted in delivery "
                      f"{item['first_alert']['delivery_id']}); message SHA-256 {item['raw_sha256']}", ""]
        return "\n".join(lines)
    if body["type"] == "update":
        lines += [body["note"], ""]
    if body["type"] == "watchlist":
        match = body["watchlist_match"]
        lines += [f"Watchlist {match['watchlist']}: your reference {match['reference']} matched a listing photo at "
                  f"{match['distance']} of {match['max_distance']} bits ({match['variant']}).", ""]
    for n, item in enumerate(body.get("items", []), 1):
        lines += [f"{n}. {item['severity'].upper()} · {item['platform']} · {item['channel']} ({item['channel_id']})"
                  f" · message {item['external_id']} · {item['sent_utc'] or 'time unknown'}",
                  f"   language {item['language']}; places {', '.join(item['places']) or '-'}; "
                  f"model {item['model_version']} score {item['score']}",
                  f"   TLP:{item['tlp']}; cases {', '.join(item['cases']) or '-'}",
                  f"   text: {item['text']}", f"   message SHA-256 {item['raw_sha256']}", ""]
    return "\n".join(lines)


def send_email(smtp: SmtpSettings, to: str, secret: str, delivery: Delivery) -> None:
    body = json.loads(delivery.body)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = smtp.sender, to, subject_of(body)
    mail["Message-ID"] = make_msgid(idstring=f"delivery-{delivery.uid}")
    for name, value in signed_headers(secret, delivery).items():
        mail[name] = value
    mail.set_content(email_text(body))
    mail.add_attachment(delivery.body.encode("utf-8"), maintype="application", subtype="json", filename="alert.json")
    try:
        if smtp.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=30, context=_tls_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=30)
        with client:
            if smtp.tls == "starttls":
                client.starttls(context=_tls_context())
            if smtp.user:
                client.login(smtp.user, smtp.password)
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc


def post_webhook(url: str, secret: str, delivery: Delivery) -> None:
    import httpx

    data = delivery.body.encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "trafficking-ad-detector",
               **signed_headers(secret, delivery)}
    try:
        response = httpx.post(url, content=data, headers=headers, timeout=WEBHOOK_TIMEOUT, verify=_tls_context(),
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"POST {url}: {exc.__class__.__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"POST {url}: HTTP {response.status_code}")


def send(delivery: Delivery, smtp: SmtpSettings, secret: str) -> None:
    """Send one delivery through its partner's channel, signed with `secret` (the partner's, opened);
    DeliveryFailed when the other end does not take it."""
    partner = delivery.partner
    if partner.channel == "email":
        send_email(smtp, partner.address, secret, delivery)
    else:
        post_webhook(partner.address, secret, delivery)
