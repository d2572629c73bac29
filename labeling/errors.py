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
