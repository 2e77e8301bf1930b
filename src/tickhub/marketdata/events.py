"""Normalised market-data messages. Pure: no I/O, no frameworks.

Prices and quantities are float64. Exchange prices carry at most ~15 significant digits,
which float64 round-trips exactly, and float keeps ingestion and aggregation fast (see
README, "Numbers"). Timestamps are integer microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

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
