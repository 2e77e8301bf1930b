"""Sessions input and output: the seed 000 bodies (checked field by field, with the
seed's `Missing required field(s).` message) and the `/v1/models` schemas.

Amounts arrive as JSON numbers (parsed as `Decimal`, so `0.1` stays exact) or numeric
strings, and leave as JSON numbers, as the seed's floats did. Times arrive as the seed's
`MM/DD/YYYY, HH:MM:SS` (UTC) or ISO-8601 (a naive one is UTC) and leave in the seed's
format on seed paths and as ISO-8601 with `Z` on `/v1`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tickhub.sessions.errors import Invalid

SEED_TIME = "%m/%d/%Y, %H:%M:%S"
MISSING = "Missing required field(s)."
MAX_SCALE = 18
MAX_AMOUNT = Decimal(10) ** 20

# Keys a client may echo back from a GET: ignored on write, never changed.
READ_ONLY = frozenset(
    {"id", "self", "transaction_id", "transaction_total", "transaction_url", "derived"}
)


# ---------------------------------------------------------------- values


def seed_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(SEED_TIME)


def iso_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def number(value: Decimal | None) -> float | None:
    """The seed's JSON numbers (floats) from exact decimals, at the edge."""
    return None if value is None else float(value)


def parse_time(name: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise Invalid(f"Invalid value for {name}: expected a date and time string.", field=name)
    text = value.strip()
    try:
        return datetime.strptime(text, SEED_TIME).replace(tzinfo=UTC)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise Invalid(
                f"Invalid value for {name}: {value!r} is neither MM/DD/YYYY, HH:MM:SS "
                "nor ISO-8601.",
                field=name,
            ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_amount(name: str, value: object, *, minimum: str = "any") -> Decimal:
    """`minimum`: "any", "zero" (>= 0) or "positive" (> 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Invalid(f"Invalid value for {name}: expected a number.", field=name)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise Invalid(f"Invalid value for {name}: expected a number.", field=name) from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise Invalid(f"Invalid value for {name}: out of range.", field=name)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_SCALE:
        raise Invalid(f"Invalid value for {name}: at most {MAX_SCALE} decimal places.", field=name)
    if minimum == "positive" and amount <= 0:
        raise Invalid(f"Invalid value for {name}: must be greater than 0.", field=name)
    if minimum == "zero" and amount < 0:
        raise Invalid(f"Invalid value for {name}: must not be negative.", field=name)
    return amount


def parse_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Invalid(f"Invalid value for {name}: expected an integer.", field=name)
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise Invalid(f"Invalid value for {name}: expected an integer.", field=name)
    count = int(value)
    if count < 0 or count > 2**31 - 1:
        raise Invalid(f"Invalid value for {name}: must be between 0 and 2147483647.", field=name)
    return count


def _text(max_length: int) -> Callable[[str, object], str]:
    def parse(name: str, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"Invalid value for {name}: expected a non-empty string.", field=name)
        if len(value) > max_length:
            raise Invalid(f"Invalid value for {name}: at most {max_length} characters.", field=name)
        return value

    return parse


def _amount(minimum: str) -> Callable[[str, object], Decimal]:
    return lambda name, value: parse_amount(name, value, minimum=minimum)


Parser = Callable[[str, object], Any]

# name → (parser, may be null)
SESSION_FIELDS: dict[str, tuple[Parser, bool]] = {
    "session_name": (_text(255), False),
    "type": (_text(64), False),
    "model_name": (_text(255), True),
    "model_id": (parse_count, True),
    "crypto_type": (_text(32), False),
    "session_start": (parse_time, False),
    "session_end": (parse_time, True),
    "starting_balance": (_amount("zero"), False),
    "starting_coins": (_amount("zero"), False),
    "ending_balance": (_amount("any"), True),
    "ending_coins": (_amount("zero"), True),
    "coins_sold": (_amount("zero"), True),
    "coins_bought": (_amount("zero"), True),
    "number_of_trades": (parse_count, True),
}
SESSION_REQUIRED = ("session_name", "type", "starting_balance", "starting_coins", "crypto_type")

TRANSACTION_TYPES = {"purchase": "Purchase", "sale": "Sale"}


def _transaction_type(name: str, value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in TRANSACTION_TYPES:
        return TRANSACTION_TYPES[value.strip().lower()]
    raise Invalid(f"Invalid value for {name}: must be 'Purchase' or 'Sale'.", field=name)


TRANSACTION_FIELDS: dict[str, tuple[Parser, bool]] = {
    "type": (_transaction_type, False),
    "crypto_type": (_text(32), False),
    "amount": (_amount("positive"), False),
    "value": (_amount("zero"), False),
    "transaction_date_time": (parse_time, False),
    "step": (parse_count, True),
}
TRANSACTION_REQUIRED = ("type", "amount", "value")


def parse_fields(
    body: object,
    spec: Mapping[str, tuple[Parser, bool]],
    *,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The checked values of the fields `body` holds. A required field that is absent
    or null is the seed's 400 `Missing required field(s).`; an unknown field is a 400
    naming it; read-only keys a client echoes back are ignored."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.", field="body")
    if any(body.get(name) is None for name in required):
        raise Invalid(MISSING, field=next(n for n in required if body.get(n) is None))
    unknown = sorted(k for k in body if k not in spec and k not in READ_ONLY)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.", field=unknown[0])
    out: dict[str, Any] = {}
    for name, raw in body.items():
        if name in READ_ONLY:
            continue
        parse, nullable = spec[name]
        if raw is None:
            if not nullable:
                raise Invalid(f"Invalid value for {name}: may not be null.", field=name)
            out[name] = None
        else:
            out[name] = parse(name, raw)
    return out


# ---------------------------------------------------------------- /v1 model info


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=128)
    version: str = Field(default="1", min_length=1, max_length=64)
    parameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    dataset_label: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The label of the training data set (`/crypto/training_data/{label}`)",
    )


class ModelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    parameters: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    dataset_label: str | None = Field(default=None, min_length=1, max_length=128)


class ModelOut(BaseModel):
    id: int
    name: str
    version: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    dataset_label: str | None
    owner_id: str
    created_at: str
    sessions: list[int] = Field(description="Ids of the sessions that ran this model")


class ModelPage(BaseModel):
    items: list[ModelOut]
    total: int
    limit: int
    offset: int


class SessionModelOut(BaseModel):
    """Which model ran a session, on which data."""

    session_id: int
    session_name: str
    model_name: str | None = Field(description="The session's free-text model name (seed)")
    model: ModelOut | None = Field(description="The linked model record, if any")
    dataset_label: str | None = Field(description="The data set the linked model trained on")
