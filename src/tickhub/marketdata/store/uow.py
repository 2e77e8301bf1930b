"""The market-data unit of work: one transaction over the store, with the writer's and the
services' repositories on its connection."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.db import UnitOfWork
from tickhub.marketdata.coinmarketcap.repository import CmcReads, CmcWrites
from tickhub.marketdata.store.repository import MarketDataReads, MarketDataWrites


class MarketDataUnitOfWork(UnitOfWork):
    """`reads`/`cmc` for the services, `writes`/`cmc_writes` for the writer:

        async with MarketDataUnitOfWork(engine) as tx:
            await tx.writes.insert_trades(instrument_id, trades)
            await tx.commit()

    A read-only use leaves without committing (a rollback, which costs nothing)."""

    reads: MarketDataReads
    writes: MarketDataWrites
    cmc: CmcReads
    cmc_writes: CmcWrites

    def _open(self, conn: AsyncConnection) -> None:
        self.reads = MarketDataReads(conn)
        self.writes = MarketDataWrites(conn)
        self.cmc = CmcReads(conn)
        self.cmc_writes = CmcWrites(conn)


@dataclass(frozen=True, slots=True)
class BorrowedReads:
    """The services' repositories on a connection another unit of work holds (another
    context reading market data inside its own transaction): no transaction of its own."""

    reads: MarketDataReads
    cmc: CmcReads

    @classmethod
    def on(cls, conn: AsyncConnection) -> BorrowedReads:
        return cls(MarketDataReads(conn), CmcReads(conn))


def reads_on(conn: AsyncConnection) -> BorrowedReads:
    """The market-data reads on a connection whose transaction belongs to the caller (a
    unit of work of another context that reads market data as part of its own work)."""
    return BorrowedReads.on(conn)
