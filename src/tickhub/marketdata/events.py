"""Normalised market-data messages, and how each travels on the bus (`MESSAGES`). Pure: no
I/O, no frameworks.

Prices and quantities are float64. Exchange prices carry at most ~15 significant digits,
which float64 round-trips exactly, and float keeps ingestion and aggregation fast (see
README, "Numbers"). Timestamps are integer microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from tickhub.bus.codec import (
    CodecError,
    FieldCodec,
    Fields,
    MessageSpec,
    as_is,
    message_spec,
)
from tickhub.common.time import now_us


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: int
    ts: int  # microseconds since the Unix epoch, UTC
    price: float
    qty: float
    is_buyer_maker: bool | None = None


@dataclass(frozen=True, slots=True)
class TradeBatch:
    """Trades of one instrument, in the order the venue sent them.

    `base`/`quote` let a writer register an instrument it has not seen before.
    """

    exchange: str
    symbol: str
    trades: tuple[Trade, ...]
    base: str = ""
    quote: str = ""
    simulated: bool = False

    @property
    def topic(self) -> str:
        return trades_topic(self.exchange, self.symbol)


@dataclass(frozen=True, slots=True)
class CandleUpdate:
    """A 1-minute candle after a write changed it (published by the writer)."""

    exchange: str
    symbol: str
    start: int  # microseconds, minute-aligned
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trade_count: int

    @property
    def topic(self) -> str:
        return f"candles.{self.exchange}.{self.symbol}"


class SourceState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    SIMULATED = "simulated"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    state: SourceState
    detail: str = ""
    last_trade_ts: int | None = None
    at: int = field(default_factory=lambda: now_us())

    @property
    def topic(self) -> str:
        return f"status.{self.source}"


@dataclass(frozen=True, slots=True)
class RejectedFrame:
    """A venue message that failed to parse: counted and kept aside, never dropped silently."""

    source: str
    raw: str
    error: str
    received_at: int = field(default_factory=lambda: now_us())

    @property
    def topic(self) -> str:
        return f"rejects.{self.source}"


@dataclass(frozen=True, slots=True)
class CmcListing:
    """One coin of a CoinMarketCap listings call, quoted in the call's `convert` currency."""

    cmc_id: int
    symbol: str
    name: str
    slug: str
    rank: int | None
    price: float | None
    volume_24h: float | None
    market_cap: float | None
    percent_change_1h: float | None
    percent_change_24h: float | None
    percent_change_7d: float | None
    circulating_supply: float | None
    total_supply: float | None
    max_supply: float | None
    last_updated: int  # microseconds, UTC


@dataclass(frozen=True, slots=True)
class CmcListings:
    """The listings fetched on one minute boundary (published by the CoinMarketCap source)."""

    minute: int  # microseconds, minute-aligned: the boundary the call was made for
    convert: str
    listings: tuple[CmcListing, ...]

    @property
    def topic(self) -> str:
        return CMC_LISTINGS_TOPIC


@dataclass(frozen=True, slots=True)
class CmcGlobalMetrics:
    """The global metrics fetched on one minute boundary."""

    minute: int  # microseconds, minute-aligned
    convert: str
    active_cryptocurrencies: int
    btc_dominance: float
    eth_dominance: float
    total_market_cap: float | None
    total_volume_24h: float | None
    last_updated: int  # microseconds, UTC

    @property
    def topic(self) -> str:
        return CMC_GLOBAL_TOPIC


@dataclass(frozen=True, slots=True)
class CmcStored:
    """CoinMarketCap data of one minute is committed (published by the writer), `kind`
    `listings` or `global`."""

    kind: str
    minute: int

    @property
    def topic(self) -> str:
        return f"stored.cmc.{self.kind}"


CMC_LISTINGS_TOPIC = "cmc.listings"
CMC_GLOBAL_TOPIC = "cmc.global"


def trades_topic(exchange: str, symbol: str) -> str:
    return f"trades.{exchange}.{symbol}"


# --- on the wire (see `tickhub.bus.codec`) --------------------------------------------------


def _write_trades(_where: str, _name: str, trades: tuple[Trade, ...]) -> list[tuple[Any, ...]]:
    for t in trades:
        if not (math.isfinite(t.price) and math.isfinite(t.qty)):
            raise CodecError(f"trade {t.trade_id}: price and qty must be finite")
    return [(t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker) for t in trades]


def _read_trades(f: Fields, name: str) -> tuple[Trade, ...]:
    trades: list[Trade] = []
    for n, row in enumerate(f.array(name)):
        if type(row) is not list or len(row) != 5:
            raise f.error(name, f"item {n} is not [id, ts, price, qty, is_buyer_maker]")
        trade_id, ts, price, qty, maker = row
        if type(trade_id) is not int or type(ts) is not int:
            raise f.error(name, f"item {n}: id and ts must be integers")
        if type(price) is not float:
            if type(price) is not int:
                raise f.error(name, f"item {n}: price must be a number")
            price = float(price)
        if type(qty) is not float:
            if type(qty) is not int:
                raise f.error(name, f"item {n}: qty must be a number")
            qty = float(qty)
        if maker is not None and type(maker) is not bool:
            raise f.error(name, f"item {n}: is_buyer_maker must be true, false or null")
        trades.append(Trade(trade_id, ts, price, qty, maker))
    return tuple(trades)


def _read_state(f: Fields, name: str) -> SourceState:
    state = f.text(name)
    try:
        return SourceState(state)
    except ValueError:
        raise f.error(name, f"unknown state {state!r}") from None


def _read_stored_kind(f: Fields, name: str) -> str:
    kind = f.text(name)
    if kind not in {"listings", "global"}:
        raise f.error(name, f"expected 'listings' or 'global', got {kind!r}")
    return kind


_LISTING = message_spec(CmcListing, "", slug=FieldCodec(as_is, Fields.text, default=""))


def _write_listings(where: str, _name: str, items: tuple[CmcListing, ...]) -> list[Any]:
    return [_LISTING.write(item, f"{where}: coin {item.cmc_id}") for item in items]


def _read_listings(f: Fields, name: str) -> tuple[CmcListing, ...]:
    items = []
    for n, item in enumerate(f.array(name)):
        if type(item) is not dict:
            raise f.error(name, f"item {n} is not an object")
        items.append(cast(CmcListing, _LISTING.read(Fields(f"{f.kind}: {name} item {n}", item))))
    return tuple(items)


MESSAGES: tuple[MessageSpec, ...] = (
    message_spec(
        TradeBatch, "trade_batch", trades=FieldCodec(_write_trades, _read_trades), last="trades"
    ),
    message_spec(CandleUpdate, "candle_update"),
    message_spec(SourceStatus, "source_status", state=FieldCodec(as_is, _read_state)),
    message_spec(RejectedFrame, "rejected_frame"),
    message_spec(CmcListings, "cmc_listings", listings=FieldCodec(_write_listings, _read_listings)),
    message_spec(CmcGlobalMetrics, "cmc_global_metrics"),
    message_spec(CmcStored, "cmc_stored", kind=FieldCodec(as_is, _read_stored_kind)),
)
"""How each market-data message travels on the bus; the composition root hands them to the
bus's `Codec`."""
