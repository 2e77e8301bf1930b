"""What the market queries return: frozen records, never rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class WalletRecord:
    user_id: str
    wallet_address: str
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class MarketWalletRecord:
    wallet_address: str
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    id: str
    user_id: str
    name: str
    type: str
    to_forecast: bool
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    session_number: int
    session_date: dt.date
    staged_ts: dt.datetime | None
    open_ts: dt.datetime | None
    close_ts: dt.datetime | None
    launch_ts: dt.datetime | None
    finish_ts: dt.datetime | None
    status: str
    market_price: Decimal
    b_min: Decimal
    b_max: Decimal
    n_price_steps: int
    delta: float


@dataclass(frozen=True, slots=True)
class BidRecord:
    id: str
    session_id: int
    user_id: str
    resource_id: str
    max_payment: Decimal
    bid_price: Decimal
    gain_func: str
    confirmed: bool
    has_forecasts: bool
    registered_at: dt.datetime
    tangle_msg_id: str | None


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    bid_id: str
    tangle_msg_id: str
    is_solid: bool


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    id: int
    session_id: int | None
    user_id: str
    resource_id: str | None
    resource_name: str | None
    amount: Decimal
    type: str
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class BalanceRecord:
    user_id: str
    balance: Decimal
    total_deposit: Decimal
    total_withdraw: Decimal
    total_payment: Decimal
    total_revenue: Decimal
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SessionBalanceRecord:
    session_id: int
    user_id: str
    resource_id: str
    session_balance: Decimal
    session_deposit: Decimal
    session_payment: Decimal
    session_revenue: Decimal
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FeeRecord:
    session_id: int
    amount: Decimal
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WeightRecord:
    id: int
    session_id: int
    step: int
    price: Decimal
    weights_p: float


@dataclass(frozen=True, slots=True)
class TransferOutRecord:
    id: int
    user_id: str
    amount: Decimal
    user_wallet_address: str
    tangle_msg_id: str
    is_solid: bool
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RawDataRecord:
    user_id: str
    resource_id: str
    resource_name: str
    resource_type: str
    datetime: dt.datetime
    value: float
    units: str
    time_interval: int
    aggregation_type: str
    registered_at: dt.datetime


class MeasurementRow(NamedTuple):
    resource_id: str
    user_id: str
    time_interval: int
    units: str
    epoch: int  # unix seconds
    value: float


@dataclass(frozen=True, slots=True)
class ForecastRecord:
    user_id: str
    resource_id: str
    resource_name: str
    session_id: int
    datetime: dt.datetime
    request: dt.datetime
    value: float
    units: str
    registered_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    user_id: str
    notification_type: str
    notification_title: str
    notification_description: str
    state: bool


@dataclass(frozen=True, slots=True)
class ClearingRecord:
    session_id: int
    status: str
    attempts: int
    next_session_id: int | None
