"""`/v1` resources of the CoinMarketCap data, and the snapshot document."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import Field

from tickhub.common.schemas import Schema, UtcTime
from tickhub.common.time import from_us
from tickhub.marketdata.schemas import SnapshotOut

if TYPE_CHECKING:
    from tickhub.marketdata.coinmarketcap.repository import StoredListing
    from tickhub.marketdata.coinmarketcap.service import GlobalHistory, ListingHistory
    from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing


def _values(event: CmcListing | CmcGlobalMetrics, minute: int) -> dict[str, Any]:
    """An event's fields as its schema below takes them: `last_updated` as a time and
    `time`, the minute it was fetched for."""
    values = asdict(event)
    values.pop("minute", None)
    return values | {"last_updated": from_us(event.last_updated), "time": from_us(minute)}


class ListingOut(Schema):
    """One coin as CoinMarketCap listed it on one minute; amounts in `convert`."""

    cmc_id: int = Field(examples=[1])
    symbol: str = Field(examples=["BTC"])
    name: str = Field(examples=["Bitcoin"])
    slug: str = Field(examples=["bitcoin"])
    rank: int | None
    convert: str = Field(examples=["USD"])
    price: float | None
    volume_24h: float | None
    market_cap: float | None
    percent_change_1h: float | None
    percent_change_24h: float | None
    percent_change_7d: float | None
    circulating_supply: float | None
    total_supply: float | None
    max_supply: float | None
    last_updated: UtcTime = Field(description="CoinMarketCap's time of the quote")
    time: UtcTime = Field(description="The minute this listing was fetched for")

    @classmethod
    def of(cls, s: StoredListing) -> ListingOut:
        return cls(**_values(s.listing, s.minute), convert=s.convert)


class ListingHistoryOut(Schema):
    """One coin's listings over a time range, oldest first."""

    cmc_id: int
    symbol: str
    name: str
    items: list[ListingOut]
    next_start: UtcTime | None = Field(
        description="Pass as `start` (same `end`) for the rest; null when there is no more"
    )

    @classmethod
    def of(cls, h: ListingHistory) -> ListingHistoryOut:
        coin = h.coin.listing
        return cls(
            cmc_id=coin.cmc_id,
            symbol=coin.symbol,
            name=coin.name,
            items=[ListingOut.of(s) for s in h.items],
            next_start=None if h.next_start is None else from_us(h.next_start),
        )


class GlobalMetricsOut(Schema):
    """CoinMarketCap's global metrics on one minute; amounts in `convert`."""

    convert: str
    active_cryptocurrencies: int
    btc_dominance: float = Field(description="Percent of the total market cap")
    eth_dominance: float
    total_market_cap: float | None
    total_volume_24h: float | None
    last_updated: UtcTime
    time: UtcTime = Field(description="The minute these metrics were fetched for")

    @classmethod
    def of(cls, g: CmcGlobalMetrics) -> GlobalMetricsOut:
        return cls(**_values(g, g.minute))


class GlobalHistoryOut(Schema):
    items: list[GlobalMetricsOut]
    next_start: UtcTime | None = Field(
        description="Pass as `start` (same `end`) for the rest; null when there is no more"
    )

    @classmethod
    def of(cls, h: GlobalHistory) -> GlobalHistoryOut:
        return cls(
            items=[GlobalMetricsOut.of(g) for g in h.items],
            next_start=None if h.next_start is None else from_us(h.next_start),
        )


class SnapshotDocument(SnapshotOut):
    """Everything latest in one document: every instrument's latest price and its last
    24 hours, the latest CoinMarketCap listings (by rank) and global metrics (null
    before the first call)."""

    listings: list[ListingOut]
    global_metrics: GlobalMetricsOut | None
