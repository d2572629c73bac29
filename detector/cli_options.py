"""Options shared by several commands, as reusable decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .config import Settings

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """`--db URL`, falling back to DETECTOR_DATABASE_URL, then a SQLite file here."""
    return click.option(
        "--db",
        "db_url",
        envvar="DETECTOR_DATABASE_URL",
        default="sqlite:///detector.db",
        show_default=True,
        help="Database URL (SQLite file or postgresql+psycopg://...).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


def model_option(func: F) -> F:
    return click.option(
        "--model",
        "model_name",
        envvar="DETECTOR_MODEL",
        default="default",
        show_default=True,
        help="Model folder name under models/ (or a path to a model folder).",
    )(func)


def settings_for(db_url: str, **changes: object) -> Settings:
    """The environment's Settings with the command's --db (and other options) applied."""
    return Settings.from_env().with_(database_url=db_url, **changes)
