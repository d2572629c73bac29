"""Errors of the web queue, all in the DetectorError family (mapped to HTTP codes in app.py)."""

from __future__ import annotations

from detector.errors import DetectorError, PermissionDenied


class NotLoggedIn(DetectorError):
    """No valid session: pages redirect to the login form, the API answers 401."""


class CsrfRefused(PermissionDenied):
    """A state-changing request came without the session's CSRF token."""


class RateLimited(DetectorError):
    """Too many failed logins for this user or from this address."""


class BadRequest(DetectorError):
    """A form or query parameter has a value the queue does not accept."""


class PhotoNotRevealed(PermissionDenied):
    """A photo's original was asked for before this session revealed it (or no blurred copy can be made)."""


class StaleDecision(DetectorError):
    """A decision made on a page older than the item's latest decision: nothing was stored."""

    def __init__(self, message_id: int, version: int, by: str | None, decision: str | None) -> None:
        self.message_id, self.version, self.by, self.decision = message_id, version, by, decision
        latest = f" (latest: {decision.replace('_', ' ')} by {by})" if by and decision else ""
        super().__init__(f"message {message_id} was decided or undone after you opened it{latest}; "
                         "your decision was not saved")


class CannotUndo(DetectorError):
    """An undo that is not (or no longer) possible."""
