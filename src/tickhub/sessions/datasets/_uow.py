"""The data sets unit of work: the data set queries and the market data a data set is
computed from, on one connection, so a data set is read and stored in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.common.uow import Uow
from tickhub.db import UnitOfWork
from tickhub.marketdata import service as md
from tickhub.sessions.datasets._repository import DatasetRecord, DatasetRepository


class DatasetsStore(Protocol):
    """The data set queries (see `DatasetRepository`)."""

    async def find(self, label: str, owner_id: str | None) -> list[DatasetRecord]: ...
    async def all(self, owner_id: str | None) -> list[DatasetRecord]: ...
    async def delete(self, dataset_id: int) -> None: ...
    async def add(self, values: dict[str, Any]) -> int | None: ...
    async def add_rows(
        self, dataset_id: int, rows: Sequence[tuple[int, str, list[Any]]]
    ) -> None: ...
    def stream_rows(
        self, dataset_id: int, page: int
    ) -> AsyncIterator[list[tuple[int, str, list[Any]]]]: ...


class MarketReads:
    """The stored market data, read through `tickhub.marketdata.service` in this unit of
    work: `find_instrument(symbol, exchange)` and `candles(inst, interval, start, end, tz)`
    are those service functions on its connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        reads = md.reads_on(conn)
        self.find_instrument = partial(md.find_instrument, reads)
        self.candles = partial(md.candles, reads)


class DatasetsUow(Uow, Protocol):
    @property
    def datasets(self) -> DatasetsStore: ...

    @property
    def market(self) -> MarketReads: ...


DatasetsUowFactory = Callable[[], DatasetsUow]


class DatasetsUnitOfWork(UnitOfWork):
    datasets: DatasetRepository
    market: MarketReads

    def _open(self, conn: AsyncConnection) -> None:
        self.datasets = DatasetRepository(conn)
        self.market = MarketReads(conn)
