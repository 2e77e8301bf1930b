"""Accounts errors. Each names what is wrong; the routers turn them into the seed's
envelope on seed paths and into `application/problem+json` on `/v1`."""

from __future__ import annotations


class AccountsError(Exception):
    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
        seed_data: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Field errors in seed 003's shape: {"field": ["message", ...]}.
        self.errors = errors if errors is not None else ({field: [message]} if field else {})
        self.field = field or next(iter(self.errors), None)
        # What the seed puts in `data` for this error when it is not the field errors.
        self.seed_data = seed_data if seed_data is not None else self.errors


class Invalid(AccountsError):
    """Bad input: 400 naming the field(s)."""

    status = 400


class NotAuthenticated(AccountsError):
    """No credentials, or credentials that do not hold: 401."""

    status = 401


class InvalidCredentials(NotAuthenticated):
    """A token or key was sent but is forged, expired, revoked or of the wrong kind."""


class Forbidden(AccountsError):
    status = 403


class NotFound(AccountsError):
    """Absent, or owned by someone else (the two look the same)."""

    status = 404


class Conflict(AccountsError):
    status = 409


class Unavailable(AccountsError):
    """The app runs without its database (no runtime): 503."""

    status = 503
