"""A decision not saved yet: read from the item's form, kept in hidden fields of the login form
(when the session ended) or of the "not saved" page (when the item changed), and submitted again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .params import fits

DECISION_PATH = re.compile(r"/items/([0-9]{1,10})/decision")
PREFIX = "pending_"  # the login form's names for the same fields


@dataclass(frozen=True)
class PendingDecision:
    """What the analyst decided on `message_id`, and on which `version` of it (None: not checked)."""

    message_id: int
    decision: str
    role: str
    tags: tuple[str, ...] = ()
    note: str = ""
    version: int | None = None
    query: str = ""  # the queue filter to go on with

    def fields(self) -> list[tuple[str, str]]:
        """The form fields (name, value) that submit this decision to /items/{id}/decision."""
        pairs = [("decision", self.decision), ("role", self.role), ("note", self.note)]
        pairs += [("tags", tag) for tag in self.tags]
        return pairs + ([("version", str(self.version))] if self.version is not None else [])

    def login_fields(self) -> list[tuple[str, str]]:
        """The same fields for the login form, prefixed, plus the message id."""
        return [(PREFIX + "message", str(self.message_id))] + [(PREFIX + k, v) for k, v in self.fields()]

    @property
    def action(self) -> str:
        return f"/items/{self.message_id}/decision" + (f"?{self.query}" if self.query else "")


def parse_version(text: str) -> int | None:
    """A version field: '' (none sent) -> None; otherwise a non-negative whole number, else None."""
    return int(text) if fits(text, 0) else None


def from_form(form: Any, message_id: int, query: str, prefix: str = "") -> PendingDecision | None:
    """The decision in a submitted form (`prefix` "pending_" for the login form); None when absent."""
    decision, role = str(form.get(prefix + "decision", "")), str(form.get(prefix + "role", ""))
    if not decision or not role:
        return None
    return PendingDecision(message_id, decision[:40], role[:40], tuple(str(t)[:40] for t in form.getlist(prefix + "tags")),
                           str(form.get(prefix + "note", "")), parse_version(str(form.get(prefix + "version", ""))), query)


def from_login_form(form: Any, next_url: str) -> PendingDecision | None:
    """The pending decision a login form carries; its queue filter is the query of `next_url`."""
    message = str(form.get(PREFIX + "message", ""))
    if not fits(message):
        return None
    return from_form(form, int(message), next_url.partition("?")[2], PREFIX)


def decision_path_id(path: str) -> int | None:
    """The message id of a decision form's path, else None."""
    match = DECISION_PATH.fullmatch(path)
    return int(match.group(1)) if match and fits(match.group(1)) else None
