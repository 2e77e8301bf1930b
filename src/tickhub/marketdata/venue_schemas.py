"""`/v1/exchanges` and `/v1/compare`: venues described, one asset across venues."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tickhub.common.schemas import Schema, UtcTime
from tickhub.common.time import from_us

if TYPE_CHECKING:
    from tickhub.marketdata.service import Comparison, VenuePrice
    from tickhub.marketdata.venues import VenueInfo


class CapabilitiesOut(Schema):
    trade_ids: bool = Field(description="Consecutive trade ids: a missing trade is known")
    backfill: bool = Field(description="Missing trades are fetched over REST")
    transport: Literal["websocket", "polling", "simulated", "import"]


class ExchangeDescribedOut(Schema):
    name: str = Field(examples=["binance"])
    title: str = Field(description="The venue's own name", examples=["Binance"])
    country: str | None = Field(examples=["Malta"])
    simulated: bool = Field(description="True for the simulated market: its prices are not real")
    capabilities: CapabilitiesOut
    completeness: Literal["ids", "time", "simulated", "unknown"]
    note: str = Field(description="What `completeness` means for this venue")

    @classmethod
    def of(cls, v: VenueInfo) -> ExchangeDescribedOut:
        return cls(
            name=v.name,
            title=v.title,
            country=v.country,
            simulated=v.transport == "simulated",
            capabilities=CapabilitiesOut(
                trade_ids=v.trade_ids, backfill=v.backfill, transport=v.transport
            ),
            completeness=v.completeness,
            note=v.note,
        )


class ComparedVenueOut(Schema):
    exchange: str
    symbol: str
    quote: str = Field(description="The venue's own quote (USD, USDT, …)")
    simulated: bool
    price: float = Field(description="The latest trade's price")
    time: UtcTime = Field(description="The latest trade's time")
    volume: float = Field(description="Base volume over the window")
    trades: int
    vwap: float | None = Field(description="This venue's VWAP over the window")

    @classmethod
    def of(cls, v: VenuePrice) -> ComparedVenueOut:
        i = v.instrument
        return cls(
            exchange=i.exchange,
            symbol=i.symbol,
            quote=i.quote,
            simulated=i.simulated,
            price=v.price,
            time=from_us(v.ts),
            volume=v.volume,
            trades=v.trades,
            vwap=v.vwap,
        )


class PriceAtOut(Schema):
    exchange: str
    symbol: str
    price: float


class CompareOut(Schema):
    base: str = Field(examples=["BTC"])
    quote: str = Field(description="The quote or quote group asked for", examples=["USD"])
    start: UtcTime
    end: UtcTime
    venues: list[ComparedVenueOut] = Field(description="Highest price first")
    high: PriceAtOut | None
    low: PriceAtOut | None
    spread: float | None = Field(description="Highest minus lowest latest price")
    spread_pct: float | None = Field(description="The spread in percent of the lowest price")
    vwap: float | None = Field(description="Volume-weighted average price over the window")
    volume: float

    @classmethod
    def of(cls, c: Comparison) -> CompareOut:
        def at(v: VenuePrice | None) -> PriceAtOut | None:
            if v is None:
                return None
            return PriceAtOut(
                exchange=v.instrument.exchange, symbol=v.instrument.symbol, price=v.price
            )

        return cls(
            base=c.base,
            quote=c.quote,
            start=from_us(c.start),
            end=from_us(c.end),
            venues=[ComparedVenueOut.of(v) for v in c.venues],
            high=at(c.high),
            low=at(c.low),
            spread=c.spread,
            spread_pct=c.spread_pct,
            vwap=c.vwap,
            volume=c.volume,
        )
