"""Market input and output in seed 003's shapes: bodies validated here (errors worded as
the seed's Django REST framework words them), and the seed's JSON for each record."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from datetime import UTC
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from tickhub.market.repository import (
    BalanceRecord,
    BidRecord,
    FeeRecord,
    ForecastRecord,
    MarketWalletRecord,
    NotificationRecord,
    RawDataRecord,
    ResourceRecord,
    SessionBalanceRecord,
    SessionRecord,
    TransactionRecord,
    TransferOutRecord,
    WalletRecord,
    WeightRecord,
)

RESOURCE_NAME_PATTERN = r"^[a-z0-9_-]*$"
RESOURCE_NAME_MESSAGE = (
    "Resource name cannot contain any upper-case characters, spaces or any special "
    "characters besides '-' or '_'."
)
SESSION_STATUSES = ("staged", "open", "closed", "running", "finished")
GAIN_FUNCS = ("mse", "rmse", "mae")
SEED_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _number_as_text(value: object) -> object:
    """DRF's CharField takes numbers as their text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _drf_integer(value: object) -> object:
    """DRF's IntegerField: an int, an integral float, or their text."""
    if isinstance(value, bool):
        raise PydanticCustomError("drf", "A valid integer is required.")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError as exc:
            raise PydanticCustomError("drf", "A valid integer is required.") from exc
        if number != number.to_integral_value():
            raise PydanticCustomError("drf", "A valid integer is required.")
        return int(number)
    if isinstance(value, int):
        return value
    raise PydanticCustomError("drf", "A valid integer is required.")


def _drf_number(value: object) -> object:
    """DRF's FloatField, kept exact: a number or its text, as a Decimal."""
    if isinstance(value, bool):
        raise PydanticCustomError("drf", "A valid number is required.")
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError as exc:
            raise PydanticCustomError("drf", "A valid number is required.") from exc
        if not number.is_finite():
            raise PydanticCustomError("drf", "A valid number is required.")
        return number
    raise PydanticCustomError("drf", "A valid number is required.")


Text = Annotated[str, BeforeValidator(_number_as_text)]
Integer = Annotated[int, BeforeValidator(_drf_integer)]
Number = Annotated[Decimal, BeforeValidator(_drf_number)]


class SeedIn(BaseModel):
    """A seed 003 request body: unknown fields are ignored, text is trimmed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class WalletIn(SeedIn):
    wallet_address: Annotated[Text, Field(min_length=1, max_length=256)]


def check_resource_name(value: str) -> str:
    if not re.fullmatch(RESOURCE_NAME_PATTERN[1:-1], value):
        raise PydanticCustomError("drf", RESOURCE_NAME_MESSAGE)
    return value


ResourceName = Annotated[
    Text, Field(min_length=1, max_length=64), AfterValidator(check_resource_name)
]
ResourceType = Literal["forecasts", "measurements"]


class ResourceIn(SeedIn):
    name: ResourceName
    type: ResourceType
    to_forecast: bool


class ResourcePatchIn(SeedIn):
    """A partial update: the fields left out keep their values."""

    name: ResourceName | None = None
    type: ResourceType | None = None
    to_forecast: bool | None = None


# ---------------------------------------------------------------- market inputs


class SessionIn(SeedIn):
    session_number: Annotated[Integer, Field(ge=0, le=2**31 - 1)]
    market_price: Annotated[Number, Field(ge=0, lt=Decimal(10) ** 18)]
    b_min: Annotated[Integer, Field(ge=0, le=10**18)]
    b_max: Annotated[Integer, Field(ge=0, le=10**18)]
    n_price_steps: Annotated[Integer, Field(ge=1, le=10_000)]
    delta: Annotated[float, Field(gt=0, le=100)]


class SessionPatchIn(SeedIn):
    status: Literal["staged", "open", "closed", "running", "finished"] | None = None


class BidIn(SeedIn):
    market_session: Annotated[Integer, Field(ge=0, le=2**31 - 1)]
    resource: Annotated[Text, Field(min_length=1, max_length=64)]
    max_payment: Annotated[Integer, Field(ge=0, le=10**18)]
    bid_price: Annotated[Integer, Field(ge=0, le=10**18)]
    gain_func: Literal["mse", "rmse", "mae"] = "rmse"


class PaymentIn(SeedIn):
    tangle_msg_id: Annotated[Text, Field(min_length=1, max_length=256)]


class TransferOutIn(SeedIn):
    user: Annotated[Text, Field(min_length=1, max_length=64)]
    amount: Annotated[Integer, Field(gt=0, le=10**18)]
    user_wallet_address: Annotated[Text, Field(min_length=1, max_length=128)]
    tangle_msg_id: Annotated[Text, Field(min_length=1, max_length=256)]
    is_solid: bool = False


class TransferOutPutIn(SeedIn):
    """A PUT of a transfer out: `withdraw_transfer_id` names it (checked by the route, for
    the seed's message); the other fields are optional."""

    withdraw_transfer_id: Annotated[Integer, Field(ge=0, le=2**31 - 1)] | None = None
    user: Annotated[Text, Field(min_length=1, max_length=64)] | None = None
    amount: Annotated[Integer, Field(gt=0, le=10**18)] | None = None
    user_wallet_address: Annotated[Text, Field(min_length=1, max_length=128)] | None = None
    tangle_msg_id: Annotated[Text, Field(min_length=1, max_length=256)] | None = None
    is_solid: bool | None = None


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise PydanticCustomError("drf", "Must be a valid UUID.") from exc


UuidText = Annotated[Text, AfterValidator(_uuid)]
SessionRef = Annotated[Integer, Field(ge=0, le=2**31 - 1)]
Amount = Annotated[Number, Field(gt=-(Decimal(10) ** 18), lt=Decimal(10) ** 18)]


class SessionBalanceIn(SeedIn):
    user: UuidText
    market_session: SessionRef
    resource: UuidText
    transaction_type: Literal["payment", "revenue", "transfer_in", "transfer_out"]
    amount: Amount


class FeeIn(SeedIn):
    market_session: SessionRef
    amount: Annotated[Number, Field(ge=0, lt=Decimal(10) ** 18)]


class WeightsIn(SeedIn):
    market_session: SessionRef
    weights_p: list[Annotated[float, Field(allow_inf_nan=False)]]


class NotificationStateIn(SeedIn):
    state: bool


class NotificationTypeIn(SeedIn):
    name: Annotated[Text, Field(min_length=1, max_length=64)]


class PointIn(BaseModel):
    datetime: dt.datetime
    value: float


class RawDataIn(SeedIn):
    resource_name: ResourceName
    time_interval: Literal[5, 15, 30, 60]
    aggregation_type: Literal["avg"]
    units: Literal["w", "kw", "mw"]
    timeseries: list[PointIn]


class ForecastPointIn(BaseModel):
    datetime: dt.datetime
    request: dt.datetime
    value: float


class ForecastsIn(SeedIn):
    user: Annotated[Text, Field(min_length=1, max_length=64)]
    resource_name: ResourceName
    market_session: Annotated[Integer, Field(ge=0, le=2**31 - 1)]
    units: Literal["w", "kw", "mw"]
    timeseries: list[ForecastPointIn]


# ---------------------------------------------------------------- seed 003 outputs


def drf_time(value: dt.datetime | None) -> str | None:
    """DRF's datetime: ISO 8601 in UTC with `Z`, microseconds only when non-zero."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def number(value: Decimal) -> int | float:
    """An exact amount as JSON: an integer when it is one (money always is, at the
    default quantum), else its nearest float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def seed_wallet(w: WalletRecord, *, with_user: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"user": w.user_id} if with_user else {}
    out.update(wallet_address=w.wallet_address, registered_at=drf_time(w.registered_at))
    return out


def seed_market_wallet(w: MarketWalletRecord) -> dict[str, Any]:
    return {"wallet_address": w.wallet_address, "registered_at": drf_time(w.registered_at)}


def seed_resource(r: ResourceRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "type": r.type,
        "to_forecast": r.to_forecast,
        "registered_at": drf_time(r.registered_at),
        "user": r.user_id,
    }


def seed_session(s: SessionRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "session_number": s.session_number,
        "session_date": s.session_date.isoformat(),
        "staged_ts": drf_time(s.staged_ts),
        "open_ts": drf_time(s.open_ts),
        "close_ts": drf_time(s.close_ts),
        "launch_ts": drf_time(s.launch_ts),
        "finish_ts": drf_time(s.finish_ts),
        "status": s.status,
        "market_price": float(s.market_price),
        "b_min": number(s.b_min),
        "b_max": number(s.b_max),
        "n_price_steps": s.n_price_steps,
        "delta": s.delta,
    }


def seed_bid(b: BidRecord) -> dict[str, Any]:
    return {
        "id": b.id,
        "tangle_msg_id": b.tangle_msg_id,
        "max_payment": number(b.max_payment),
        "bid_price": number(b.bid_price),
        "gain_func": b.gain_func,
        "confirmed": b.confirmed,
        "registered_at": drf_time(b.registered_at),
        "has_forecasts": b.has_forecasts,
        "user": b.user_id,
        "resource": b.resource_id,
        "market_session": b.session_id,
    }


def seed_transaction(t: TransactionRecord) -> dict[str, Any]:
    return {
        "market_session": t.session_id,
        "user": t.user_id,
        "resource": t.resource_id,
        "amount": number(t.amount),
        "transaction_type": t.type,
        "registered_at": drf_time(t.registered_at),
        "resource_name": t.resource_name,
    }


def seed_balance(b: BalanceRecord) -> dict[str, Any]:
    return {
        "user": b.user_id,
        "balance": number(b.balance),
        "total_deposit": number(b.total_deposit),
        "total_withdraw": number(b.total_withdraw),
        "total_payment": number(b.total_payment),
        "total_revenue": number(b.total_revenue),
        "updated_at": drf_time(b.updated_at),
    }


def seed_session_balance(b: SessionBalanceRecord) -> dict[str, Any]:
    return {
        "market_session": b.session_id,
        "user": b.user_id,
        "resource": b.resource_id,
        "session_deposit": number(b.session_deposit),
        "session_balance": number(b.session_balance),
        "session_payment": number(b.session_payment),
        "session_revenue": number(b.session_revenue),
        "registered_at": drf_time(b.registered_at),
    }


def seed_fee(f: FeeRecord) -> dict[str, Any]:
    return {"market_session": f.session_id, "amount": number(f.amount)}


def seed_weight(w: WeightRecord) -> dict[str, Any]:
    return {
        "id": w.id,
        "market_session": w.session_id,
        "price": number(w.price),
        "weights_p": w.weights_p,
    }


def seed_transfer(t: TransferOutRecord) -> dict[str, Any]:
    return {
        "withdraw_transfer_id": t.id,
        "user": t.user_id,
        "amount": number(t.amount),
        "user_wallet_address": t.user_wallet_address,
        "tangle_msg_id": t.tangle_msg_id,
        "is_solid": t.is_solid,
        "registered_at": drf_time(t.registered_at),
    }


def seed_raw(r: RawDataRecord) -> dict[str, Any]:
    return {
        "datetime": drf_time(r.datetime),
        "value": r.value,
        "units": r.units,
        "resource": r.resource_id,
        "resource_type": r.resource_type,
        "time_interval": r.time_interval,
        "aggregation_type": r.aggregation_type,
        "registered_at": drf_time(r.registered_at),
        "resource_name": r.resource_name,
    }


def seed_forecast(f: ForecastRecord) -> dict[str, Any]:
    return {
        "market_session": f.session_id,
        "datetime": drf_time(f.datetime),
        "request": drf_time(f.request),
        "value": f.value,
        "units": f.units,
        "resource": f.resource_id,
        "registered_at": drf_time(f.registered_at),
        "resource_name": f.resource_name,
    }


def seed_notification(n: NotificationRecord) -> dict[str, Any]:
    return {
        "id": n.id,
        "user": n.user_id,
        "notification_title": n.notification_title,
        "notification_description": n.notification_description,
        "state": n.state,
    }
