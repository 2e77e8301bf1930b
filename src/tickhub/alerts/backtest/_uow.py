"""The backtest's unit of work: the caller's strategies and the market data, read on
one connection (it writes nothing; paper sessions are the sessions context's)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.alerts.repository import AlertsRepository
from tickhub.db import UnitOfWork
from tickhub.marketdata import service as marketdata


class BacktestUnitOfWork(UnitOfWork):
    alerts: AlertsRepository
    market: marketdata.MarketReads

    def _open(self, conn: AsyncConnection) -> None:
        self.alerts = AlertsRepository(conn)
        self.market = marketdata.reads_on(conn)
