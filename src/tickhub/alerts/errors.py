"""The alerts context's errors: `tickhub.common.errors` kinds naming the field at fault
(and, for a condition, the position and reason), rendered as problem+json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickhub.common import errors as kinds


class AlertsError(kinds.DomainError):
    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message, field=field)
        self.extra = extra  # a condition's position and reason

    @property
    def details(self) -> Mapping[str, object]:
        return self.extra


class Invalid(AlertsError, kinds.Unprocessable):
    """Bad input, naming the field."""


class NotFound(AlertsError, kinds.NotFound):
    """Absent, or another user's (the two look the same)."""


class Conflict(AlertsError, kinds.Conflict):
    """A name already used, or too many strategies."""
