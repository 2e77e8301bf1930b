"""The one domain error family. Domain code raises these and knows no HTTP status; the
web layer maps each kind to a status once, and each path's envelope renders it.

    raise NotFound("No session with that session_id was found.", field="session_id")

`field` names the input at fault (a body field, a query parameter, a path segment), so
that a client can point at it; `details` carries anything more a client needs to fix its
input (where in a text it fails, each field's messages).
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A request the domain refuses; `message` says why, `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def details(self) -> Mapping[str, object]:
        """More about what is wrong, beside `message` and `field`: JSON-ready members,
        none unless a subclass has some."""
        return {}


class Invalid(DomainError):
    """Bad input: missing, malformed, out of range."""


class Unprocessable(Invalid):
    """Input that is well formed but that the rules refuse, where an API tells the two
    apart (the alerts API: a condition that does not parse, an interval out of range)."""


class NotFound(DomainError):
    """Absent, or not the caller's to see (the two look the same)."""


class Conflict(DomainError):
    """The current state forbids it: a duplicate, a wrong transition, a concurrent write."""


class Unauthorized(DomainError):
    """No credentials, or credentials that do not hold."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class NotAcceptable(DomainError):
    """None of the forms the caller accepts can be produced (a data set as XML)."""


class Unavailable(DomainError):
    """Something the request needs is down or not configured; it may work later."""
