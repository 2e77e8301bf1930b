"""Sessions errors. The router renders them as the seed's `{"error": ...}` on seed 000
paths and as `application/problem+json` on `/v1`."""

from __future__ import annotations


class SessionsError(Exception):
    status = 400
    title = "Bad Request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(SessionsError):
    """Bad input: a missing field, a wrong type, a value out of range."""


class NotFound(SessionsError):
    """Absent, or owned by someone else (the two look the same)."""

    status = 404
    title = "Not Found"


class Conflict(SessionsError):
    status = 409
    title = "Conflict"
