"""FastAPI dependencies of the market-data routes: a read unit of work per request, and
the live parts the composition root (`app.py`) puts on `app.state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from tickhub.deps import EngineDep
from tickhub.marketdata.live.coalesce import Coalescer
from tickhub.marketdata.live.hub import LiveHub
from tickhub.marketdata.live.priceblocks import PriceBlocks
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.live.rollupcache import RollupCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.live.status import PipelineStatus
from tickhub.marketdata.service import MarketReads
from tickhub.marketdata.store.uow import MarketDataUnitOfWork


async def market_reads(engine: EngineDep) -> AsyncIterator[MarketReads]:
    """A read unit of work for one request: the services' reads share its connection;
    nothing is committed."""
    async with MarketDataUnitOfWork(engine) as tx:
        yield tx


MarketReadsDep = Annotated[MarketReads, Depends(market_reads)]


def open_reads(engine: EngineDep) -> MarketDataUnitOfWork:
    """A read unit of work to open only when needed (`async with open_reads(engine) as
    tx`), for routes that answer from memory first and touch the database only on a miss."""
    return MarketDataUnitOfWork(engine)


async def get_live_hub(conn: HTTPConnection) -> LiveHub | None:
    """The WebSocket fan-out (`/v1/stream`); None in an app that runs none."""
    hub: LiveHub | None = getattr(conn.app.state, "live_hub", None)
    return hub


LiveHubDep = Annotated[LiveHub | None, Depends(get_live_hub)]


async def get_snapshot_cache(conn: HTTPConnection) -> SnapshotCache | None:
    """The in-memory `/v1/snapshot`; None until the app's lifespan starts it."""
    cache: SnapshotCache | None = getattr(conn.app.state, "snapshot_cache", None)
    return cache


SnapshotCacheDep = Annotated[SnapshotCache | None, Depends(get_snapshot_cache)]


async def get_pipeline(conn: HTTPConnection) -> PipelineStatus:
    """Source states and pipeline counters of this process (read-only)."""
    status: PipelineStatus | None = getattr(conn.app.state, "pipeline", None)
    return PipelineStatus() if status is None else status


PipelineStatusDep = Annotated[PipelineStatus, Depends(get_pipeline)]


async def get_read_cache(conn: HTTPConnection) -> ReadCache | None:
    """The closed-window answers of `/v1/candles` and `/v1/statistics`; None in an app
    that runs none."""
    cache: ReadCache | None = getattr(conn.app.state, "read_cache", None)
    return cache


ReadCacheDep = Annotated[ReadCache | None, Depends(get_read_cache)]


async def get_rollup_cache(conn: HTTPConnection) -> RollupCache | None:
    """The stored rollups kept in memory for `/v1/candles` and `/v1/statistics`; None in
    an app that runs none."""
    cache: RollupCache | None = getattr(conn.app.state, "rollup_cache", None)
    return cache


RollupCacheDep = Annotated[RollupCache | None, Depends(get_rollup_cache)]


async def get_price_blocks(conn: HTTPConnection) -> PriceBlocks | None:
    """Seed 004's listed prices kept by closed minute; None in an app that runs none."""
    blocks: PriceBlocks | None = getattr(conn.app.state, "price_blocks", None)
    return blocks


PriceBlocksDep = Annotated[PriceBlocks | None, Depends(get_price_blocks)]


async def get_read_flights(conn: HTTPConnection) -> Coalescer | None:
    """The reads of `/v1/candles` and `/v1/statistics` in flight, shared by identical
    requests; None in an app that runs none (each request then reads alone)."""
    flights: Coalescer | None = getattr(conn.app.state, "read_flights", None)
    return flights


ReadFlightsDep = Annotated[Coalescer | None, Depends(get_read_flights)]
