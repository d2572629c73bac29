"""One error family. Every entry point (CLI, web, scheduler) turns these into a clear message."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate ... pop directional isolate
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # embeddings, overrides, isolates
_HIDDEN_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")  # controls and line breaks; lone surrogates cannot be printed
_RIGHT_TO_LEFT = ("R", "AL", "AN")
_STRAY_CONTROL = re.compile(f"{FSI}[^{_BIDI_CONTROLS}]*{PDI}|([{_BIDI_CONTROLS}])")


def shown_name(name: str) -> str:
    """A user-supplied name (file, chat, sender) as a one-line message shows it.

    Controls, line breaks and direction controls are written as escapes (`\\u202e`); a name
    holding right-to-left letters is isolated in FSI...PDI, so it can neither set the line's
    direction nor reorder the text after it. Other names are shown as they are.
    """
    visible = "".join(_escaped(char) for char in name)
    if any(unicodedata.bidirectional(char) in _RIGHT_TO_LEFT for char in visible):
        return f"{FSI}{visible}{PDI}"
    return visible


def _escaped(char: str) -> str:
    if char in _BIDI_CONTROLS or unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return ascii(char)[1:-1]
    return char


def terminal_line(message: str) -> str:
    """A message made safe for a terminal: every direction control outside a `shown_name`
    isolate is escaped, so a name that reached the text without it cannot reorder the line."""
    return _STRAY_CONTROL.sub(lambda match: ascii(match[1])[1:-1] if match[1] else match[0], message)


class DetectorError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class InputError(DetectorError):
    """A file the user gave us is unreadable, malformed or unsafe; the message names it with `shown_name`."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{shown_name(self.path)}: {problem}")


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
