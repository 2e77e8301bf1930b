"""FastAPI dependencies of the market-data routes: a read unit of work per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends

from tickhub.deps import EngineDep
from tickhub.marketdata.service import MarketReads
from tickhub.marketdata.store.uow import MarketDataUnitOfWork


async def market_reads(engine: EngineDep) -> AsyncIterator[MarketReads]:
    """A read unit of work for one request: the services' reads share its connection;
    nothing is committed."""
    async with MarketDataUnitOfWork(engine) as tx:
        yield tx


MarketReadsDep = Annotated[MarketReads, Depends(market_reads)]
