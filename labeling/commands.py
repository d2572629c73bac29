"""`detector serve` and `detector users ...`: parse arguments, call plain functions."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from detector.cli_options import db_option, settings_for

# `serve --workers N`: how each worker process learns the options its app is made with.
SERVE_OPTIONS_ENV = "DETECTOR_SERVE_OPTIONS"
# A worker that does not answer uvicorn's health check this long is restarted; a new worker
# answers only once it has imported the app (seconds, more on a loaded machine).
WORKER_STARTUP_SECONDS = 60

@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it local unless behind HTTPS).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--secure-cookies", is_flag=True, envvar="DETECTOR_SECURE_COOKIES",
              help="Mark the session cookie Secure (when served behind HTTPS).")
@click.option("--allowed-hosts", default="", envvar="DETECTOR_ALLOWED_HOSTS", metavar="HOSTS",
              help="Comma-separated Host headers to answer (*.example.org allowed) [default: localhost, 127.0.0.1, [::1] and --host].")
@click.option("--forwarded-allow-ips", default="", envvar="DETECTOR_FORWARDED_ALLOW_IPS", metavar="IPS",
              help="Comma-separated proxy addresses or networks whose X-Forwarded-For/-Proto are believed [default: none].")
@click.option("--session-hours", envvar="DETECTOR_SESSION_HOURS", type=click.FloatRange(0.01, 24 * 366),
              help="Absolute session lifetime in hours: log in again after this long, however active [default: 12].")
@click.option("--allow-demo-accounts", is_flag=True,
              help="Listen on a non-loopback address even though the demo accounts (public passwords) exist.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), envvar="DETECTOR_WEB_WORKERS",
              help="Worker processes answering on one port (uvicorn); use PostgreSQL for more than one.")
def serve(db_url: str, host: str, port: int, secure_cookies: bool, allowed_hosts: str, forwarded_allow_ips: str,
          session_hours: float | None, allow_demo_accounts: bool, workers: int) -> None:
    """Run the labelling queue in the browser (http://HOST:PORT).

    Every worker keeps its state in the database (login limits, leases) or in the signed session
    cookie (login, CSRF token), so any request may land on any worker.
    """
    from detector.db import session_scope
    from detector.errors import ConfigError

    from .accounts import list_users
    from .app import create_app
    from .demo import demo_accounts_in_use
    from .hosts import default_allowed_hosts, is_loopback, split_list

    options: dict[str, Any] = {
        "secure_cookies": secure_cookies, "session_hours": session_hours,
        "allowed_hosts": split_list(allowed_hosts) or default_allowed_hosts(host),
        "forwarded_allow_ips": split_list(forwarded_allow_ips)}
    app = create_app(settings_for(db_url), **options)  # migrates and makes the session secret once, before any worker
    if not is_loopback(host) and not allow_demo_accounts:
        demo = demo_accounts_in_use(app.state.engine)
        if demo:
            raise ConfigError(f"refusing to listen on {host}: the demo accounts ({', '.join(demo)}) with public "
                              "passwords exist in this database; use --host 127.0.0.1, a database without them, "
                              "or --allow-demo-accounts")
    with session_scope(app.state.engine) as session:
        if not list_users(session):
            click.echo("No accounts yet: create one with `detector users add NAME --role analyst`.")
    shown = f"{workers} worker processes" if workers > 1 else "Ctrl+C to stop"
    click.echo(f"Labelling queue on http://{host}:{port}  ({shown})")
    if workers == 1:
        run_server(app, host, port)
    else:
        app.state.engine.dispose()
        run_workers({"db_url": db_url, **options}, host, port, workers)


def run_server(app: object, host: str, port: int) -> None:
    """Serve the app with uvicorn; its own proxy-header handling is off (the app has its own, see hosts.py)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)  # type: ignore[arg-type]


def run_workers(options: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Serve with `workers` uvicorn processes on one socket, each making its app by `app_from_environment`."""
    import uvicorn

    os.environ[SERVE_OPTIONS_ENV] = json.dumps(options)
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="warning", proxy_headers=False, server_header=False,
                timeout_worker_healthcheck=WORKER_STARTUP_SECONDS)


def app_from_environment() -> Any:
    """The app of one `serve --workers` process, from the options `run_workers` put in the environment."""
    from .app import create_app

    options = json.loads(os.environ[SERVE_OPTIONS_ENV])
    return create_app(settings_for(options.pop("db_url")), **options)


@click.group()
def users() -> None:
    """Manage the accounts of the labelling queue."""


@users.command("add")
@db_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "analyst", "reviewer"]), help="What the account may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def add(db_url: str, name: str, role: str, password_stdin: bool) -> None:
    """Create an account NAME with a role; the password is prompted for (or read from stdin)."""
    from detector.config import Settings
    from detector.db import open_database, session_scope

    from .accounts import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = open_database(db_url)
    with session_scope(engine) as session:
        add_user(session, name, role, password, actor=Settings.from_env().actor)
    click.echo(f"Added {role} {name}.")


@users.command("list")
@db_option
def list_(db_url: str) -> None:
    """List the accounts with their role and whether they are active."""
    from rich.console import Console
    from rich.table import Table

    from detector.db import open_database, session_scope

    from .accounts import list_users

    table = Table("Name", "Role", "Active", "Created")
    with session_scope(open_database(db_url)) as session:
        for user in list_users(session):
            table.add_row(user.name, user.role, "yes" if user.active else "no", f"{user.created_at:%Y-%m-%d}")
    Console().print(table)
