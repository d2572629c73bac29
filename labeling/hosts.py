"""Which Host headers and proxies the queue trusts, and redirects that never name a host.

The client address (login limits, audit log) comes from X-Forwarded-For only when the
connection itself comes from a listed proxy (uvicorn's ProxyHeadersMiddleware); the
Host header is checked against a list (starlette's TrustedHostMiddleware); and every
redirect is sent as a path, so a forged Host header is never echoed back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from detector.errors import ConfigError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def split_list(text: str) -> list[str]:
    """`a, b,c` -> ['a', 'b', 'c'] (empty items dropped)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def is_loopback(host: str) -> bool:
    """Whether a listening address only accepts connections from this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(host: str) -> list[str]:
    """The Host headers a server on `host` answers by default: loopback names and `host` itself."""
    name = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return list(dict.fromkeys([*LOOPBACK_NAMES, name.lower()]))


class RelativeRedirects:
    """Rewrite an absolute Location header (such as the router's trailing-slash redirect) to its path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(name, _relative(value) if name.lower() == b"location" else value)
                                      for name, value in message.get("headers", [])]
            await send(message)

        await self.app(scope, receive, send_relative)


def _relative(location: bytes) -> bytes:
    text = location.decode("latin-1")
    parts = urlsplit(text)
    if not parts.scheme and not parts.netloc and not text.startswith(("//", "/\\", "\\")):
        return location
    path = "/" + parts.path.lstrip("/\\")  # never a protocol-relative //host
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")


def install(app: FastAPI, *, allowed_hosts: Sequence[str] | None, forwarded_allow_ips: Sequence[str]) -> None:
    """Add the middleware, outermost last: host check, then proxy headers, then relative redirects."""
    for pattern in allowed_hosts or ():
        if not pattern or "*" in pattern[1:] or (pattern.startswith("*") and pattern != "*" and not pattern.startswith("*.")):
            raise ConfigError(f"allowed host {pattern!r}: use a name, an address, or a pattern like *.example.org")
    app.add_middleware(RelativeRedirects)
    if forwarded_allow_ips:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(forwarded_allow_ips))
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts), www_redirect=False)
