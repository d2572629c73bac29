"""`detector serve` and `detector users ...`: parse arguments, call plain functions."""

from __future__ import annotations

import sys

import click

from detector.cli_options import db_option, settings_for


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it local unless behind HTTPS).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--secure-cookies", is_flag=True, envvar="DETECTOR_SECURE_COOKIES",
              help="Mark the session cookie Secure (when served behind HTTPS).")
def serve(db_url: str, host: str, port: int, secure_cookies: bool) -> None:
    """Run the labelling queue in the browser (http://HOST:PORT)."""
    import uvicorn

    from detector.db import session_scope

    from .accounts import list_users
    from .app import create_app

    app = create_app(settings_for(db_url), secure_cookies=secure_cookies)
    with session_scope(app.state.engine) as session:
        if not list_users(session):
            click.echo("No accounts yet: create one with `detector users add NAME --role analyst`.")
    click.echo(f"Labelling queue on http://{host}:{port}  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


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
