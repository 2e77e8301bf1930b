"""Accounts errors: the common kinds (`tickhub.common.errors`), carrying what seed 003
answers with besides the message. Each names what is wrong; the web layer gives the
status, and the envelope of the path renders it."""

from __future__ import annotations

from collections.abc import Mapping

from tickhub.common import errors as kinds


class AccountsError(kinds.DomainError):
    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
        seed_data: object = None,
    ) -> None:
        # Field errors in seed 003's shape: {"field": ["message", ...]}.
        found = errors if errors is not None else ({field: [message]} if field else {})
        super().__init__(message, field=field or next(iter(found), None))
        self.errors = found
        # What the seed puts in `data` for this error when it is not the field errors.
        self.seed_data = seed_data if seed_data is not None else self.errors

    @property
    def details(self) -> Mapping[str, object]:
        """Each field's messages, when there are several."""
        errors = [{"field": f, "message": m} for f, ms in self.errors.items() for m in ms]
        return {"errors": errors} if len(errors) > 1 else {}


class Invalid(AccountsError, kinds.Invalid):
    """Bad input, naming the field(s)."""


class NotAuthenticated(AccountsError, kinds.Unauthorized):
    """No credentials, or credentials that do not hold."""


class InvalidCredentials(NotAuthenticated):
    """A token or key was sent but is forged, expired, revoked or of the wrong kind."""


class Forbidden(AccountsError, kinds.Forbidden):
    """Signed in, but not allowed to (an admin's route, an API key creating keys)."""


class NotFound(AccountsError, kinds.NotFound):
    """Absent, or owned by someone else (the two look the same)."""


class Conflict(AccountsError, kinds.Conflict):
    """Taken already (an e-mail, a name), or changed meanwhile."""


class Unavailable(AccountsError, kinds.Unavailable):
    """The app runs without its database (no runtime)."""
