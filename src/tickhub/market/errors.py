"""Market errors: the common kinds (`tickhub.common.errors`), carrying what seed 003
answers with besides the message (its field errors, or its own `data`). The web layer
gives the status; the envelope of the path renders it."""

from __future__ import annotations

from collections.abc import Mapping

from tickhub.common import errors as kinds


class MarketError(kinds.DomainError):
    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
        seed_data: object = None,
    ) -> None:
        found = errors if errors is not None else ({field: [message]} if field else {})
        super().__init__(message, field=field or next(iter(found), None))
        self.errors = found
        self.seed_data = seed_data if seed_data is not None else self.errors

    @property
    def details(self) -> Mapping[str, object]:
        errors = [{"field": f, "message": m} for f, ms in self.errors.items() for m in ms]
        return {"errors": errors} if len(errors) > 1 else {}


class Invalid(MarketError, kinds.Invalid):
    """Bad input, naming the field(s)."""


class Forbidden(MarketError, kinds.Forbidden):
    """Signed in, but not allowed to (an admin's action)."""


class NotFound(MarketError, kinds.NotFound):
    """Absent, or owned by someone else (the two look the same)."""


class Conflict(MarketError, kinds.Conflict):
    """The market's state refuses it: a session in the wrong status, a bid placed twice,
    a balance that would go negative."""


class Unavailable(MarketError, kinds.Unavailable):
    """A dependency (the ledger) cannot answer."""
