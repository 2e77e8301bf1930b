"""Seed 003's query-parameter checks, with its messages (a 400 whose `data` is a list of
one message, as the seed's `ValidationError(str)` renders)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from tickhub.compat._params import int_or_none
from tickhub.market.errors import Invalid
from tickhub.market.schemas import SEED_TIME, SESSION_STATUSES


def query_error(message: str, field: str) -> Invalid:
    return Invalid(message, field=field, seed_data=[message])


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def session_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    found = int_or_none(raw)
    if found is None or not 0 <= found < 2**31:
        raise query_error("Query param 'market_session' must be an integer.", "market_session")
    return found


def resource(raw: str | None) -> str | None:
    if raw is not None and not is_uuid(raw):
        raise query_error("Query param 'resource' must be a valid uuid.", "resource")
    return raw


def user(raw: str | None, *, is_admin: bool) -> str | None:
    """Admins may filter on a user; for others the filter is ignored (the seed's)."""
    if raw is None or not is_admin:
        return None
    if not is_uuid(raw):
        raise query_error("Query param 'user' must be a valid uuid.", "user")
    return raw


def boolean(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    if raw.lower() not in {"true", "false"}:
        raise query_error(f"Query param '{name}' must be a boolean (true/false)", name)
    return raw.lower() == "true"


def status(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw.lower() not in SESSION_STATUSES:
        raise query_error(
            f"Query param 'session_status' must be one of the following {list(SESSION_STATUSES)}",
            "status",
        )
    return raw.lower()


def amount(raw: str | None, name: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite():
        raise query_error(f"Query param '{name}' must be an integer or float.", name)
    return value


def seed_time(raw: str | None, name: str) -> datetime | None:
    """Strict `%Y-%m-%dT%H:%M:%SZ`, as the seed."""
    if raw is None:
        return None
    try:
        return datetime.strptime(raw, SEED_TIME).replace(tzinfo=UTC)
    except ValueError as exc:
        message = f"Query datetime parameters must use format {SEED_TIME}"
        raise query_error(message, name) from exc
