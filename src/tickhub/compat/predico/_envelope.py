"""Seed 003's envelope, and the route class of its paths."""

from __future__ import annotations

from enum import Enum

from fastapi.responses import Response

from tickhub.accounts.errors import AccountsError
from tickhub.common.errors import DomainError, NotFound
from tickhub.compat._envelopes import SeedEnvelope, seed_error, seed_error_body
from tickhub.market.errors import MarketError
from tickhub.problems import challenge, status_of


def _seed_data(exc: DomainError) -> object:
    """What the seed puts in `data` for a 400: the field errors (or the seed's own)."""
    if isinstance(exc, AccountsError | MarketError):
        return exc.seed_data
    return {exc.field: [exc.message]} if exc.field else {}


def _render(exc: DomainError) -> Response:
    """The seed answers 409 for everything it cannot find, and a 400 with its fixed
    validation message and the field errors in `data`."""
    status = 409 if isinstance(exc, NotFound) else status_of(exc).code
    if status == 400:
        return seed_error(400, data=_seed_data(exc))
    return seed_error(status, message=exc.message, headers=challenge(status))


ENVELOPE = SeedEnvelope(roots=("/api",), body=seed_error_body, render=_render)
SeedRoute = ENVELOPE.route_class()
TAGS: list[str | Enum] = ["accounts (seed 003)"]
