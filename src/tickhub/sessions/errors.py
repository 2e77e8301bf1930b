"""Sessions errors: the common kinds (`tickhub.common.errors`) as the sessions context
raises them. The web layer gives the status; seed 000's paths render them as its
`{"error": ...}`, `/v1` as `application/problem+json`."""

from __future__ import annotations

from tickhub.common import errors as kinds


class SessionsError(kinds.DomainError):
    """Any error of the sessions context."""


class Invalid(SessionsError, kinds.Invalid):
    """Bad input: a missing field, a wrong type, a value out of range."""


class NotFound(SessionsError, kinds.NotFound):
    """Absent, or owned by someone else (the two look the same)."""


class Conflict(SessionsError, kinds.Conflict):
    """The current state forbids it (a model name and version taken already)."""
