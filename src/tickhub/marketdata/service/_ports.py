"""What the market-data services read through: a unit of work with `reads` (trades,
candles, instruments, …) and `cmc` (CoinMarketCap history). `store.uow` implements it on
the database; tests hand the services in-memory fakes of the same shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from tickhub.marketdata.coinmarketcap.repository import StoredListing
from tickhub.marketdata.events import CmcGlobalMetrics, Trade
from tickhub.marketdata.store.candles import Candle
from tickhub.marketdata.store.columns import CandleTable, RollupRow
from tickhub.marketdata.store.coverage import Range
from tickhub.marketdata.store.repository import InstrumentInfo, Latest, PriceColumns

CandleRow = tuple[int, float, float, float, float, float, float, int]
"""A stored candle as a bare row: start, open, high, low, close, volume, quote volume,
trade count."""


RollupFetch = Callable[[int, int], Awaitable[Sequence[Any]]]
"""The stored rollup rows (`RollupRow`) of one resolution with lo <= start < hi."""


class RollupSource(Protocol):
    """One instrument's rollups kept in memory for one request (`live.rollupcache`)."""

    async def read(self, resolution: int, lo: int, hi: int, fetch: RollupFetch) -> CandleTable:
        """`CandleTable.of_rows(await fetch(lo, hi))`, from memory where it can."""
        ...


class TradeReads(Protocol):
    """The read side of the trade store (`store.repository.MarketDataReads`)."""

    async def instruments(self, exchange: str | None = None) -> list[InstrumentInfo]: ...

    async def exchanges(self) -> list[tuple[str, str | None, bool]]: ...

    async def assets(self) -> list[tuple[str, str]]: ...

    async def latest(self, instrument_ids: Sequence[int] | None = None) -> list[Latest]: ...

    async def trades(
        self,
        instrument_id: int,
        start: int | None,
        end: int | None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Trade]: ...

    async def count_trades(self, instrument_id: int, start: int | None, end: int | None) -> int: ...

    async def candles(
        self, instrument_id: int, resolution: int, start: int, end: int
    ) -> list[Candle]: ...

    async def rollup_columns(
        self, instrument_id: int, resolution: int, start: int, end: int
    ) -> list[CandleRow]: ...

    async def rollup_table(
        self, instrument_id: int, resolution: int, start: int, end: int
    ) -> list[RollupRow]: ...

    async def prices(
        self, instrument_id: int, start: int, end: int, *, limit: int | None = None
    ) -> list[float]: ...

    async def trade_prices(
        self, instrument_id: int, start: int, end: int, *, limit: int
    ) -> Sequence[Sequence[Any]]: ...

    async def price_rows(
        self,
        instrument_id: int,
        start: int | None,
        end: int | None,
        *,
        after: tuple[int, int] | None,
        limit: int,
    ) -> PriceColumns: ...

    async def coverage(self, instrument_id: int) -> list[Range]: ...

    async def last_trade_ids(self, exchange: str) -> dict[str, int]: ...

    async def count_trades_of(
        self,
        instrument_ids: Sequence[int],
        start: int | None,
        end: int | None,
        *,
        up_to: int | None = None,
    ) -> int: ...

    async def trades_of(
        self,
        instrument_ids: Sequence[int],
        start: int | None,
        end: int | None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[tuple[int, Trade]]: ...

    async def first_covered_ts(self, instrument_ids: Sequence[int]) -> int | None: ...

    async def last_covered_ts(self, instrument_ids: Sequence[int]) -> int | None: ...


class ListingReads(Protocol):
    """The read side of the CoinMarketCap history (`coinmarketcap.repository.CmcReads`)."""

    async def latest_listings_minute(self) -> int | None: ...

    async def listings_at(self, minute: int, limit: int | None = None) -> list[StoredListing]: ...

    async def coin_by_id(self, cmc_id: int) -> StoredListing | None: ...

    async def coin_by_symbol(self, symbol: str) -> StoredListing | None: ...

    async def listing_history(
        self, cmc_id: int, start: int, end: int, limit: int
    ) -> list[StoredListing]: ...

    async def latest_global(self) -> CmcGlobalMetrics | None: ...

    async def global_history(self, start: int, end: int, limit: int) -> list[CmcGlobalMetrics]: ...

    async def global_as_of(self, first: int, last: int, step: int) -> list[CmcGlobalMetrics]: ...

    async def listing_as_of(
        self, cmc_id: int, first: int, last: int, step: int
    ) -> list[StoredListing]: ...


class MarketReads(Protocol):
    """An open unit of work the market-data reads run in (they never commit)."""

    @property
    def reads(self) -> TradeReads: ...

    @property
    def cmc(self) -> ListingReads: ...
