"""The read side of the market-data store: instruments, exchanges, latest prices, trades,
candle rollups, coverage and statistics, for the services. Never writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import Candle
from tickhub.marketdata.store.coverage import Range
from tickhub.marketdata.store.repository import _driver
from tickhub.marketdata.store.repository._records import InstrumentInfo, Latest, PriceColumns
from tickhub.marketdata.store.repository._tables import (
    assets_t,
    candles_t,
    coverage_t,
    exchanges_t,
    instruments_t,
    latest_t,
    rejected_t,
    trades_t,
)


class MarketDataReads:
    """The services' queries, on the connection of the caller's unit of work."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _instrument_select(self) -> Select[Any]:
        i, e = instruments_t.c, exchanges_t.c
        return select(i.id, e.name, i.symbol, i.base, i.quote, e.simulated).join_from(
            instruments_t, exchanges_t, i.exchange_id == e.id
        )

    async def instruments(self, exchange: str | None = None) -> list[InstrumentInfo]:
        """Every instrument (of one exchange), by exchange and symbol: on the driver, as
        every seed request resolves its symbol through it."""
        if exchange is None:
            rows = await _driver.fetch(self.conn, _driver.INSTRUMENTS_SQL, ())
        else:
            rows = await _driver.fetch(self.conn, _driver.EXCHANGE_INSTRUMENTS_SQL, (exchange,))
        return [InstrumentInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    async def exchanges(self) -> list[tuple[str, str | None, bool]]:
        e = exchanges_t.c
        rows = await self.conn.execute(select(e.name, e.country, e.simulated).order_by(e.name))
        return [(r[0], r[1], bool(r[2])) for r in rows]

    async def assets(self) -> list[tuple[str, str]]:
        a = assets_t.c
        return [
            (r[0], r[1])
            for r in await self.conn.execute(select(a.symbol, a.name).order_by(a.symbol))
        ]

    async def latest(self, instrument_ids: Sequence[int] | None = None) -> list[Latest]:
        i, e, lp = instruments_t.c, exchanges_t.c, latest_t.c
        stmt = (
            select(
                i.id,
                e.name,
                i.symbol,
                i.base,
                i.quote,
                e.simulated,
                lp.trade_id,
                lp.ts,
                lp.price,
                lp.qty,
            )
            .join_from(latest_t, instruments_t, lp.instrument_id == i.id)
            .join(exchanges_t, i.exchange_id == e.id)
            .order_by(e.name, i.symbol)
        )
        if instrument_ids is not None:
            stmt = stmt.where(i.id.in_(instrument_ids))
        return [
            Latest(InstrumentInfo(*r[:6]), r[6], r[7], r[8], r[9])
            for r in await self.conn.execute(stmt)
        ]

    async def trades(
        self,
        instrument_id: int,
        start: int | None,
        end: int | None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Trade]:
        """Trades with start <= ts <= end, ordered by (ts, trade_id); `after` is a keyset cursor."""
        c = trades_t.c
        stmt = select(c.trade_id, c.ts, c.price, c.qty, c.is_buyer_maker).where(
            c.instrument_id == instrument_id
        )
        if start is not None:
            stmt = stmt.where(c.ts >= start)
        if end is not None:
            stmt = stmt.where(c.ts <= end)
        if after is not None:
            ts, tid = after
            if descending:
                stmt = stmt.where(or_(c.ts < ts, and_(c.ts == ts, c.trade_id < tid)))
            else:
                stmt = stmt.where(or_(c.ts > ts, and_(c.ts == ts, c.trade_id > tid)))
        if descending:
            stmt = stmt.order_by(c.ts.desc(), c.trade_id.desc())
        else:
            stmt = stmt.order_by(c.ts, c.trade_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = await self.conn.execute(stmt)
        return [Trade(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def count_trades(self, instrument_id: int, start: int | None, end: int | None) -> int:
        c = trades_t.c
        stmt = select(func.count()).select_from(trades_t).where(c.instrument_id == instrument_id)
        if start is not None:
            stmt = stmt.where(c.ts >= start)
        if end is not None:
            stmt = stmt.where(c.ts <= end)
        return int(await self.conn.scalar(stmt) or 0)

    async def candles(
        self, instrument_id: int, resolution: int, start: int, end: int
    ) -> list[Candle]:
        """Stored rollups with start <= candle start < end."""
        c = candles_t.c
        rows = await self.conn.execute(
            select(
                c.start,
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume,
                c.quote_volume,
                c.trade_count,
                c.open_ts,
                c.open_id,
                c.close_ts,
                c.close_id,
                c.price_sum,
                c.price_m2,
            )
            .where(
                c.instrument_id == instrument_id,
                c.resolution == resolution // 1_000_000,
                c.start >= start,
                c.start < end,
            )
            .order_by(c.start)
        )
        return [Candle(*cast("tuple[Any, ...]", r)) for r in rows.all()]

    async def rollup_columns(
        self, instrument_id: int, resolution: int, start: int, end: int
    ) -> list[tuple[int, float, float, float, float, float, float, int]]:
        """The rollups of `candles` as bare rows (start, open, high, low, close, volume,
        quote_volume, trade_count) with start <= candle start < end, oldest first: the
        scanner's bulk read, without the per-row objects."""
        c = candles_t.c
        rows = await self.conn.execute(
            select(c.start, c.open, c.high, c.low, c.close, c.volume, c.quote_volume,
                   c.trade_count)
            .where(
                c.instrument_id == instrument_id,
                c.resolution == resolution // 1_000_000,
                c.start >= start,
                c.start < end,
            )
            .order_by(c.start)
        )  # fmt: skip
        return cast("list[tuple[int, float, float, float, float, float, float, int]]", rows.all())

    async def rollup_table(
        self, instrument_id: int, resolution: int, start: int, end: int
    ) -> list[tuple[int, float, float, float, float, float, float, int, float, float]]:
        """The rollups of `candles` as bare rows (start, open, high, low, close, volume,
        quote_volume, trade_count, price_sum, price_m2), oldest first: the hot reads'
        columns, fetched by the driver itself (no per-row objects)."""
        rows = await _driver.fetch(
            self.conn, _driver.ROLLUPS_SQL, (instrument_id, resolution // 1_000_000, start, end)
        )
        return cast(
            "list[tuple[int, float, float, float, float, float, float, int, float, float]]",
            rows if isinstance(rows, list) and (not rows or isinstance(rows[0], tuple))
            else [tuple(r) for r in rows],
        )  # fmt: skip

    async def prices(
        self, instrument_id: int, start: int, end: int, *, limit: int | None = None
    ) -> list[float]:
        """The prices of the trades with start <= ts <= end, in (ts, trade id) order,
        fetched by the driver."""
        rows = await _driver.fetch(
            self.conn,
            _driver.PRICE_LIST_SQL,
            (instrument_id, start, end, _NO_LIMIT if limit is None else limit),
        )
        return [r[0] for r in rows]

    async def trade_prices(
        self, instrument_id: int, start: int, end: int, *, limit: int
    ) -> list[tuple[int, float, float]]:
        """(ts, price, qty) of the trades with start <= ts <= end, in (ts, trade id)
        order, at most `limit`: the partial minutes of a statistics window, fetched by
        the driver (no object per trade)."""
        rows = await _driver.fetch(
            self.conn, _driver.TRADE_PRICES_SQL, (instrument_id, start, end, limit)
        )
        return cast("list[tuple[int, float, float]]", rows)

    async def price_rows(
        self,
        instrument_id: int,
        start: int | None,
        end: int | None,
        *,
        after: tuple[int, int] | None,
        limit: int,
    ) -> PriceColumns:
        """(trade id, ts, price) columns of the trades with start <= ts <= end in (ts,
        trade id) order, at most `limit`, after the keyset (ts, trade id) `after` when
        given: one page of a streamed listing, fetched by the driver (no cursor left open)."""
        hi = 2**63 - 1 if end is None else end
        if after is None:
            lo = -(2**63) if start is None else start
            return await _driver.fetch_prices(
                self.conn, _driver.PRICES_SQL, (instrument_id, lo, hi, limit)
            )
        ts, trade_id = after
        return await _driver.fetch_prices(
            self.conn, _driver.PRICES_AFTER_SQL, (instrument_id, ts, hi, ts, trade_id, limit)
        )

    async def coverage(self, instrument_id: int) -> list[Range]:
        c = coverage_t.c
        rows = await self.conn.execute(
            select(c.first_id, c.last_id, c.first_ts, c.last_ts)
            .where(c.instrument_id == instrument_id)
            .order_by(c.first_id)
        )
        return [Range(*r) for r in rows]

    async def last_trade_ids(self, exchange: str) -> dict[str, int]:
        """The highest processed trade id per symbol of an exchange (resume points)."""
        i, e, c = instruments_t.c, exchanges_t.c, coverage_t.c
        rows = await self.conn.execute(
            select(i.symbol, func.max(c.last_id))
            .join_from(coverage_t, instruments_t, c.instrument_id == i.id)
            .join(exchanges_t, i.exchange_id == e.id)
            .where(e.name == exchange)
            .group_by(i.symbol)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def rejected_count(self) -> int:
        return int(await self.conn.scalar(select(func.count()).select_from(rejected_t)) or 0)

    # ------------------------------------------------------------ seed-compatible reads
    # Used by compat/prices_tracker.py and compat/crypto_ticker.py through the service.
    # Keep new queries for other routes above this block.

    async def count_trades_of(
        self,
        instrument_ids: Sequence[int],
        start: int | None,
        end: int | None,
        *,
        up_to: int | None = None,
    ) -> int:
        """How many trades of these instruments have start <= ts <= end; at most `up_to`
        are counted (a bounded read: the count stops there)."""
        c = trades_t.c
        rows = select(c.ts).where(c.instrument_id.in_(instrument_ids))
        if start is not None:
            rows = rows.where(c.ts >= start)
        if end is not None:
            rows = rows.where(c.ts <= end)
        if up_to is not None:
            rows = rows.limit(up_to)
        stmt = select(func.count()).select_from(rows.subquery())
        return int(await self.conn.scalar(stmt) or 0)

    async def trades_of(
        self,
        instrument_ids: Sequence[int],
        start: int | None,
        end: int | None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[tuple[int, Trade]]:
        """(instrument id, trade) with start <= ts <= end, ordered by (ts, instrument, trade id);
        `offset`/`limit` page through them."""
        c = trades_t.c
        stmt = select(c.instrument_id, c.trade_id, c.ts, c.price, c.qty, c.is_buyer_maker).where(
            c.instrument_id.in_(instrument_ids)
        )
        if start is not None:
            stmt = stmt.where(c.ts >= start)
        if end is not None:
            stmt = stmt.where(c.ts <= end)
        stmt = stmt.order_by(c.ts, c.instrument_id, c.trade_id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = await self.conn.execute(stmt)
        return [(r[0], Trade(r[1], r[2], r[3], r[4], r[5])) for r in rows]

    async def first_covered_ts(self, instrument_ids: Sequence[int]) -> int | None:
        """The earliest time of a processed trade (stored or sampled away) of these instruments."""
        return await self._covered_edge(instrument_ids, latest=False)

    async def last_covered_ts(self, instrument_ids: Sequence[int]) -> int | None:
        """The latest time of a processed trade (stored or sampled away) of these instruments."""
        return await self._covered_edge(instrument_ids, latest=True)

    async def _covered_edge(self, instrument_ids: Sequence[int], *, latest: bool) -> int | None:
        """From the coverage ranges, else (none recorded) from the stored trades; on the
        driver (seed 004's checks ask it on every request)."""
        if not instrument_ids:
            return None
        ids = tuple(instrument_ids)
        for sql in _driver.covered_edge_sql(len(ids), latest=latest):
            ((ts,),) = await _driver.fetch(self.conn, sql, ids)
            if ts is not None:
                return int(ts)
        return None

    async def candles_of(
        self, instrument_ids: Sequence[int], resolution: int, start: int, end: int
    ) -> dict[int, list[Candle]]:
        """`candles` of several instruments in one query, by instrument id."""
        if not instrument_ids or start >= end:
            return {}
        c = candles_t.c
        rows = await self.conn.execute(
            select(c.instrument_id, *_CANDLE_COLUMNS)
            .where(
                c.instrument_id.in_(instrument_ids),
                c.resolution == resolution // 1_000_000,
                c.start >= start,
                c.start < end,
            )
            .order_by(c.instrument_id, c.start)
        )
        out: dict[int, list[Candle]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(Candle(*cast("tuple[Any, ...]", r[1:])))
        return out


_NO_LIMIT = 2**63 - 1

_CANDLE_COLUMNS = (
    candles_t.c.start, candles_t.c.open, candles_t.c.high, candles_t.c.low, candles_t.c.close,
    candles_t.c.volume, candles_t.c.quote_volume, candles_t.c.trade_count, candles_t.c.open_ts,
    candles_t.c.open_id, candles_t.c.close_ts, candles_t.c.close_id, candles_t.c.price_sum,
    candles_t.c.price_m2,
)  # fmt: skip
