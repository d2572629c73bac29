"""One error family. Every entry point (CLI, web, scheduler) turns these into a clear message."""

from __future__ import annotations

from pathlib import Path


class DetectorError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class InputError(DetectorError):
    """A file the user gave us is unreadable, malformed or unsafe."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnknownFormatError(InputError):
    """The content matches none of the export formats we read."""


class ConfigError(DetectorError):
    """A setting or option is missing or invalid."""


class ModelError(DetectorError):
    """A model folder is missing, incomplete or altered."""


class NotFoundError(DetectorError):
    """A named record (case, partner, user, model) does not exist."""


class PermissionDenied(DetectorError):
    """The acting user may not do this."""
