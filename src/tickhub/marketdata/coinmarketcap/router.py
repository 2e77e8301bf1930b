"""`/v1` routes of the CoinMarketCap data (`coinmarketcap` in TICKHUB_SOURCES): latest
listings, one coin's listing history, global metrics and their history.

Thin: parse and validate, call `cmc_service`, return `cmc_schemas`. Ranges are half-open
on the fetched minute, start <= time < end; a time is ISO-8601 (without an offset it is
UTC) or epoch milliseconds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from tickhub.common.time import now_us
from tickhub.marketdata import service
from tickhub.marketdata.coinmarketcap import service as cmc_service
from tickhub.marketdata.coinmarketcap.schemas import (
    GlobalHistoryOut,
    GlobalMetricsOut,
    ListingHistoryOut,
    ListingOut,
)
from tickhub.marketdata.deps import MarketReadsDep
from tickhub.marketdata.schemas import ERRORS

router = APIRouter(tags=["coinmarketcap"], responses=ERRORS)

_TIME = "ISO-8601 (`2026-11-23T15:34:07Z`; no offset means UTC) or epoch milliseconds"
Start = Annotated[
    str | None, Query(max_length=64, description=f"Inclusive, default end - 24 h; {_TIME}")
]
End = Annotated[str | None, Query(max_length=64, description=f"Exclusive, default now; {_TIME}")]
HistoryLimit = Annotated[
    int,
    Query(
        ge=1, le=cmc_service.MAX_HISTORY, description="At most this many minutes; see next_start"
    ),
]


def _window(start: str | None, end: str | None) -> tuple[int, int]:
    t0 = service.parse_time(start, "start") if start else None
    t1 = service.parse_time(end, "end") if end else None
    return cmc_service.window(t0, t1, now_us())


@router.get("/listings", summary="Latest CoinMarketCap listings")
async def list_listings(
    tx: MarketReadsDep,
    limit: Annotated[int, Query(ge=1, le=5000, description="The first `limit` by rank")] = 100,
) -> list[ListingOut]:
    """The coins of the newest listings call, by CoinMarketCap rank (unranked last); an
    empty list before the first call."""
    return [ListingOut.of(s) for s in await cmc_service.latest_listings(tx, limit)]


@router.get("/listings/{coin}", summary="One coin's CoinMarketCap listing history")
async def get_listing_history(
    tx: MarketReadsDep,
    coin: Annotated[
        str,
        Path(max_length=64, description="Symbol (`BTC`, any case) or CoinMarketCap id (`1`)"),
    ],
    start: Start = None,
    end: End = None,
    limit: HistoryLimit = 1440,
) -> ListingHistoryOut:
    """The coin's listing on each fetched minute with start <= time < end, oldest first.
    A symbol names the coin listed last under it (the best ranked, if several). 404 when
    no listing of the coin is stored."""
    t0, t1 = _window(start, end)
    history = await cmc_service.listing_history(tx, coin, start=t0, end=t1, limit=limit)
    return ListingHistoryOut.of(history)


@router.get("/global-metrics", summary="Latest CoinMarketCap global metrics")
async def get_global_metrics(tx: MarketReadsDep) -> GlobalMetricsOut:
    """Market cap, 24 h volume, BTC and ETH dominance and active coins of the newest call;
    404 before the first call."""
    return GlobalMetricsOut.of(await cmc_service.latest_global_or_404(tx))


@router.get("/global-metrics/history", summary="CoinMarketCap global metrics over time")
async def get_global_history(
    tx: MarketReadsDep, start: Start = None, end: End = None, limit: HistoryLimit = 1440
) -> GlobalHistoryOut:
    """The global metrics of each fetched minute with start <= time < end, oldest first."""
    t0, t1 = _window(start, end)
    return GlobalHistoryOut.of(await cmc_service.global_history(tx, start=t0, end=t1, limit=limit))
