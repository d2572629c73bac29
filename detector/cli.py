"""The `detector` command: parses arguments and calls plain functions.

Library errors (DetectorError) become one clean line on stderr and exit status 1.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import click

from . import __version__
from .errors import DetectorError, terminal_line


class DetectorGroup(click.Group):
    """A group that turns DetectorError into a one-line error without a traceback (direction controls
    outside isolated names escaped: `errors.terminal_line`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DetectorError as exc:
            raise click.ClickException(terminal_line(str(exc))) from exc


@click.group(cls=DetectorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="detector")
def main() -> None:
    """Find human-sale listings in exported marketplace channels.

    The database comes from --db URL or DETECTOR_DATABASE_URL (default: a
    SQLite file detector.db in the current folder).
    """


from .classify.commands import classify_command, evaluate_command, score_command, train_command  # noqa: E402
from .synthetic.corpus.commands import corpus as corpus_command  # noqa: E402

main.add_command(corpus_command)

from .classify.retrain_commands import models as models_command, simulate_command  # noqa: E402

main.add_command(models_command)
main.add_command(simulate_command)

from .ingest.commands import ingest_command, watch_command  # noqa: E402

for _command in (ingest_command, watch_command, train_command, evaluate_command, classify_command, score_command):
    main.add_command(_command)

from .link.commands import graph_command, link_command  # noqa: E402

main.add_command(link_command)
main.add_command(graph_command)

from .doctor_command import doctor_command  # noqa: E402

main.add_command(doctor_command)

from .audit.commands import audit as audit_command  # noqa: E402

main.add_command(audit_command)

from .watchlist.commands import watchlist as watchlist_command  # noqa: E402

main.add_command(watchlist_command)


def add_extensions(group: click.Group) -> None:
    """Commands of the packages built on the core (the queue, reports), found through the
    `detector.commands` entry points: the core never names them."""
    for entry in sorted(entry_points(group="detector.commands"), key=lambda e: e.name):
        group.add_command(entry.load(), entry.name)


add_extensions(main)
