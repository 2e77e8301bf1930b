"""The alerts unit of work: what the use cases in `tickhub.alerts.service` receive.

`AlertsUow` is what they may use: the `AlertsStore` queries, the stored instruments (read
through the marketdata service, in the same transaction) and the commit;
`AlertsUnitOfWork` is the database one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.alerts.repository import (
    AlertFilter,
    AlertRecord,
    AlertsRepository,
    DeliveryRecord,
    StrategyRecord,
)
from tickhub.common.uow import Uow
from tickhub.db import UnitOfWork
from tickhub.marketdata import service as marketdata
from tickhub.sessions import service as sessions


class Instrument(Protocol):
    """What the alerts read of a stored instrument."""

    @property
    def exchange(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def base(self) -> str: ...
    @property
    def quote(self) -> str: ...


class InstrumentSource(Protocol):
    async def instruments(self) -> Sequence[Instrument]: ...


class AlertsStore(Protocol):
    """The strategy and alert queries the use cases make (see `AlertsRepository`)."""

    async def add_strategy(self, values: dict[str, Any]) -> int: ...
    async def strategy(self, strategy_id: int, user_id: str) -> StrategyRecord | None: ...
    async def strategy_named(self, user_id: str, name: str) -> int | None: ...
    async def strategies(
        self, user_id: str, *, limit: int, offset: int
    ) -> list[StrategyRecord]: ...
    async def count_strategies(self, user_id: str) -> int: ...
    async def update_strategy(self, strategy_id: int, values: dict[str, Any]) -> None: ...
    async def delete_strategy(self, strategy_id: int) -> None: ...
    async def alert(self, alert_id: int, user_id: str) -> AlertRecord | None: ...
    async def alerts(
        self, user_id: str, wanted: AlertFilter, *, before_id: int | None, limit: int
    ) -> list[AlertRecord]: ...
    async def deliveries(self, alert_id: int) -> list[DeliveryRecord]: ...


class PaperSessions(Protocol):
    """The sessions a strategy may paper-trade into (the sessions service's port)."""

    async def owns(self, owner_id: str, session_id: int) -> bool: ...


class AlertsUow(Uow, Protocol):
    @property
    def alerts(self) -> AlertsStore: ...

    @property
    def market(self) -> InstrumentSource: ...

    @property
    def paper(self) -> PaperSessions: ...


AlertsUowFactory = Callable[[], AlertsUow]


class MarketInstruments:
    """The stored instruments, through `tickhub.marketdata.service` on a connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def instruments(self) -> Sequence[Instrument]:
        return await marketdata.instruments(marketdata.reads_on(self._conn))


class AlertsUnitOfWork(UnitOfWork):
    alerts: AlertsRepository
    market: MarketInstruments
    paper: sessions.PaperLedger

    def _open(self, conn: AsyncConnection) -> None:
        self.alerts = AlertsRepository(conn)
        self.market = MarketInstruments(conn)
        self.paper = sessions.paper_ledger_on(conn)
