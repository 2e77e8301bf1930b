"""The market unit of work: what the use cases in `tickhub.market.service` receive.

`MarketUow` is what they may use (four stores and the commit); `MarketUnitOfWork` is the
database one, on the repositories of `tickhub.market.repository`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.common.uow import Uow
from tickhub.db import UnitOfWork
from tickhub.market.repository import (
    BalanceRecord,
    BidRecord,
    ClearingRecord,
    DataRepository,
    FeeRecord,
    ForecastRecord,
    HoldingsRepository,
    MarketWalletRecord,
    MeasurementRow,
    MoneyRepository,
    NotificationRecord,
    PaymentRecord,
    RawDataRecord,
    ResourceRecord,
    SessionBalanceRecord,
    SessionRecord,
    SessionsRepository,
    TransactionRecord,
    TransferOutRecord,
    WalletRecord,
    WeightRecord,
)


class HoldingsStore(Protocol):
    """See `HoldingsRepository`."""

    async def wallets(self, user_id: str | None) -> list[WalletRecord]: ...
    async def wallet_owner(self, address: str) -> str | None: ...
    async def add_wallet(self, user_id: str, address: str, now: datetime) -> None: ...
    async def update_wallet(self, user_id: str, address: str, now: datetime) -> bool: ...
    async def market_wallet(self) -> MarketWalletRecord | None: ...
    async def set_market_wallet(self, address: str, now: datetime, *, create: bool) -> None: ...
    async def resources(
        self,
        user_id: str | None,
        *,
        resource_id: str | None = None,
        name: str | None = None,
        to_forecast: bool | None = None,
    ) -> list[ResourceRecord]: ...
    async def resource_exists(
        self, user_id: str, name: str, type: str, *, other_than: str | None = None
    ) -> bool: ...
    async def add_resource(self, **values: Any) -> None: ...
    async def update_resource(self, resource_id: str, **values: Any) -> None: ...
    async def delete_resource(self, resource_id: str) -> None: ...


class SessionsStore(Protocol):
    """See `SessionsRepository`."""

    async def add_session(self, **values: Any) -> int: ...
    async def session(self, session_id: int, *, lock: bool = False) -> SessionRecord | None: ...
    async def sessions(
        self, *, session_id: int | None = None, status: str | None = None
    ) -> list[SessionRecord]: ...
    async def unfinished(self) -> int: ...
    async def next_number(self, day: Any) -> int: ...
    async def open_session(self, other_than: int) -> int | None: ...
    async def guard_transition(
        self, session_id: int, expected: str, status: str, **more: Any
    ) -> bool: ...
    async def add_bid(self, **values: Any) -> None: ...
    async def bid(self, bid_id: str, user_id: str | None = None) -> BidRecord | None: ...
    async def bids(
        self,
        user_id: str | None,
        *,
        session_id: int | None = None,
        resource_id: str | None = None,
        confirmed: bool | None = None,
    ) -> list[BidRecord]: ...
    async def bid_exists(self, session_id: int, user_id: str, resource_id: str) -> bool: ...
    async def confirm_bid(self, bid_id: str) -> bool: ...
    async def mark_forecasts(self, bid_id: str) -> None: ...
    async def payment_by_reference(self, tangle_msg_id: str) -> PaymentRecord | None: ...
    async def payment_taken(self, bid_id: str, tangle_msg_id: str) -> bool: ...
    async def add_payment(self, bid_id: str, tangle_msg_id: str, now: Any) -> None: ...
    async def solidify(self, bid_id: str) -> None: ...


class MoneyStore(Protocol):
    """See `MoneyRepository`."""

    async def add_transaction(self, **values: Any) -> None: ...
    async def transaction_exists(
        self, session_id: int, user_id: str, resource_id: str, type: str
    ) -> bool: ...
    async def transactions(
        self, user_id: str | None, *, session_id: int | None = None
    ) -> list[TransactionRecord]: ...
    async def balance(self, user_id: str, *, lock: bool = False) -> BalanceRecord | None: ...
    async def balances(self, user_id: str | None) -> list[BalanceRecord]: ...
    async def add_balance(self, user_id: str, now: datetime) -> None: ...
    async def set_balance(self, user_id: str, **values: Any) -> None: ...
    async def session_balance(
        self, session_id: int, user_id: str, resource_id: str
    ) -> SessionBalanceRecord | None: ...
    async def session_balances(
        self,
        user_id: str | None,
        *,
        session_id: int | None = None,
        resource_id: str | None = None,
    ) -> list[SessionBalanceRecord]: ...
    async def add_session_balance(self, **values: Any) -> None: ...
    async def set_session_balance(
        self, session_id: int, user_id: str, resource_id: str, **values: Any
    ) -> None: ...
    async def add_fee(self, session_id: int, amount: Decimal, now: datetime) -> None: ...
    async def fees(self, session_id: int | None = None) -> list[FeeRecord]: ...
    async def add_weights(self, session_id: int, weights: list[tuple[Decimal, float]]) -> None: ...
    async def weights(self, session_id: int | None = None) -> list[WeightRecord]: ...
    async def add_transfer(self, **values: Any) -> int: ...
    async def transfers(
        self, user_id: str | None, *, is_solid: bool | None = None
    ) -> list[TransferOutRecord]: ...


class DataStore(Protocol):
    """See `DataRepository`."""

    async def set_notification_state(
        self, user_id: str, notification_id: int, state: bool
    ) -> bool: ...
    async def measurements(self, start: datetime, end: datetime) -> list[MeasurementRow]: ...
    async def upsert_raw(self, rows: Sequence[dict[str, Any]]) -> None: ...
    async def raw(
        self,
        user_id: str | None,
        *,
        resource_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        measurements_only: bool = False,
    ) -> list[RawDataRecord]: ...
    async def upsert_forecasts(self, rows: Sequence[dict[str, Any]]) -> None: ...
    async def forecasts(
        self,
        user_id: str | None,
        *,
        resource_id: str | None = None,
        session_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ForecastRecord]: ...
    async def notify(self, rows: Sequence[dict[str, Any]]) -> None: ...
    async def notifications(
        self, user_id: str, notification_id: int | None = None
    ) -> list[NotificationRecord]: ...
    async def clearing(self, session_id: int) -> ClearingRecord | None: ...
    async def start_clearing(self, session_id: int, now: datetime) -> None: ...
    async def book_clearing(
        self, session_id: int, now: datetime, next_session_id: int | None
    ) -> None: ...


class MarketUow(Uow, Protocol):
    @property
    def holdings(self) -> HoldingsStore: ...
    @property
    def sessions(self) -> SessionsStore: ...
    @property
    def money(self) -> MoneyStore: ...
    @property
    def data(self) -> DataStore: ...


MarketUowFactory = Callable[[], MarketUow]


class MarketUnitOfWork(UnitOfWork):
    holdings: HoldingsRepository
    sessions: SessionsRepository
    money: MoneyRepository
    data: DataRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.holdings = HoldingsRepository(conn)
        self.sessions = SessionsRepository(conn)
        self.money = MoneyRepository(conn)
        self.data = DataRepository(conn)
