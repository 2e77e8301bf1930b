"""Reads of the CoinMarketCap history: latest listings, one coin's history, global
metrics. Errors are `MarketDataError`s naming the parameter at fault."""

from __future__ import annotations

from dataclasses import dataclass

from tickhub.common import errors as kinds
from tickhub.marketdata.coinmarketcap.repository import StoredListing
from tickhub.marketdata.events import CmcGlobalMetrics
from tickhub.marketdata.service import InvalidParameter, MarketDataError, MarketReads
from tickhub.marketdata.store.candles import DAY

MAX_HISTORY = 10_000
_MAX_CMC_ID = 2**31 - 1


class NotFound(MarketDataError, kinds.NotFound):
    """Nothing of CoinMarketCap's stored for that coin (or at all, yet)."""


@dataclass(frozen=True, slots=True)
class ListingHistory:
    coin: StoredListing  # the coin as listed last
    items: list[StoredListing]
    next_start: int | None  # pass as `start` for the rest; None when there is no more


@dataclass(frozen=True, slots=True)
class GlobalHistory:
    items: list[CmcGlobalMetrics]
    next_start: int | None


def window(start: int | None, end: int | None, now: int) -> tuple[int, int]:
    """[start, end): end defaults to now, start to end - 24 h."""
    t1 = now if end is None else end
    t0 = max(t1 - DAY, 0) if start is None else start
    if t0 > t1:
        raise InvalidParameter("start must not be after end", field="start")
    return t0, t1


async def latest_listings(tx: MarketReads, limit: int | None = None) -> list[StoredListing]:
    """The listings of the newest stored minute, by rank; empty before the first call."""
    repo = tx.cmc
    minute = await repo.latest_listings_minute()
    return [] if minute is None else await repo.listings_at(minute, limit)


async def find_coin(tx: MarketReads, coin: str) -> StoredListing:
    """A coin by CoinMarketCap id (`1`) or symbol (`BTC`, any case)."""
    text = coin.strip()
    if not text:
        raise InvalidParameter(
            "coin is empty: give a symbol (BTC) or a CoinMarketCap id", field="coin"
        )
    repo = tx.cmc
    if text.isdigit():
        cmc_id = int(text)
        found = await repo.coin_by_id(cmc_id) if cmc_id <= _MAX_CMC_ID else None
    else:
        found = await repo.coin_by_symbol(text.upper())
    if found is None:
        raise NotFound(f"no CoinMarketCap listing of {coin!r} stored", field="coin")
    return found


async def listing_history(
    tx: MarketReads, coin: str, *, start: int, end: int, limit: int
) -> ListingHistory:
    """One coin's listing rows with start <= minute < end, oldest first, `limit` at most."""
    found = await find_coin(tx, coin)
    rows = await tx.cmc.listing_history(found.listing.cmc_id, start, end, limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    return ListingHistory(found, items, items[-1].minute + 1 if more else None)


async def latest_global(tx: MarketReads) -> CmcGlobalMetrics | None:
    return await tx.cmc.latest_global()


async def latest_global_or_404(tx: MarketReads) -> CmcGlobalMetrics:
    found = await latest_global(tx)
    if found is None:
        raise NotFound("no CoinMarketCap global metrics stored yet", field="global_metrics")
    return found


async def global_history(tx: MarketReads, *, start: int, end: int, limit: int) -> GlobalHistory:
    rows = await tx.cmc.global_history(start, end, limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    return GlobalHistory(items, items[-1].minute + 1 if more else None)
