"""Instruments, candles, statistics and coverage: the reads every API shares."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tickhub.common import errors as kinds
from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.normalize import compact_symbol
from tickhub.marketdata.service._ports import MarketReads, RollupSource
from tickhub.marketdata.store import coverage as cov
from tickhub.marketdata.store.candles import (
    DAY,
    HOUR,
    MINUTE,
    Candle,
    Interval,
    IntervalError,
    best_rollup,
    boundaries,
    fold,
    parse_interval,
    trade_candle,
)
from tickhub.marketdata.store.columns import CandleTable, RollupRow
from tickhub.marketdata.store.coverage import Gap, Range
from tickhub.marketdata.store.repository import InstrumentInfo, Latest

MAX_CANDLES = 10_000
MAX_TRADE_WINDOW = 3600 * 1_000_000
"""Intervals that no rollup tiles (below a minute, or not whole minutes) are folded from
the trades: over at most this long a window (one hour) per request."""
MAX_TRADE_ROWS = 50_000
"""The most trades one candles request folds; a busier hour is a 400 on `start`. With 10
million trades stored, folding 100,000 took a core over a second (bench/bounds.py)."""
MAX_ROLLUP_ROWS = 50_000
"""The most stored rollups one candles request folds (10,000 7-minute candles read
70,000 one-minute rollups: too many; 10,000 one-minute candles read 10,000)."""


class MarketDataError(kinds.DomainError):
    """A request the market data cannot answer; `field` names the parameter at fault."""


class UnknownInstrument(MarketDataError, kinds.NotFound):
    """No such instrument (or no trade of it yet)."""


class InvalidParameter(MarketDataError, kinds.Invalid):
    """A parameter missing, malformed or out of range."""


async def resolve_instrument(
    tx: MarketReads, symbol: str, exchange: str | None = None
) -> InstrumentInfo:
    """Find an instrument by its exchange symbol (`BTCUSDT`) or base/quote (`BTC-USDT`).

    Without an exchange, a live venue is preferred over the simulated one.
    """
    wanted = compact_symbol(symbol)
    if not wanted:
        raise InvalidParameter("symbol is required", field="symbol")
    found = [
        i
        for i in await tx.reads.instruments(exchange)
        if compact_symbol(i.symbol) == wanted or compact_symbol(i.base + i.quote) == wanted
    ]
    if not found:
        where = f" on exchange {exchange!r}" if exchange else ""
        raise UnknownInstrument(f"unknown instrument {symbol!r}{where}", field="symbol")
    found.sort(key=lambda i: (i.simulated, i.exchange))
    return found[0]


async def instruments(tx: MarketReads, exchange: str | None = None) -> list[InstrumentInfo]:
    return await tx.reads.instruments(exchange)


async def latest_prices(tx: MarketReads, instrument_ids: list[int] | None = None) -> list[Latest]:
    return await tx.reads.latest(instrument_ids)


def parse_tz(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidParameter(f"unknown time zone {name!r}", field="tz") from exc


def interval_or_error(text: str) -> Interval:
    try:
        return parse_interval(text)
    except IntervalError as exc:
        raise InvalidParameter(str(exc), field="interval") from exc


async def candles(
    tx: MarketReads,
    inst: InstrumentInfo,
    interval: Interval,
    start: int,
    end: int,
    tz: ZoneInfo | None = None,
) -> list[Candle]:
    """Candles whose buckets meet [start, end), oldest first; empty buckets are omitted."""
    edges, res = _edges(interval, start, end, tz)
    if res is not None:
        return fold(await tx.reads.candles(inst.id, res, edges[0], edges[-1]), edges)
    return fold((trade_candle(t) for t in await _window_trades(tx, inst, edges)), edges)


async def candle_table(
    tx: MarketReads,
    inst: InstrumentInfo,
    interval: Interval,
    start: int,
    end: int,
    tz: ZoneInfo | None = None,
    memory: RollupSource | None = None,
) -> CandleTable:
    """`candles` as columns, folded without an object per stored row (the candle
    route's read); the same bounds. `memory` holds rollups read before."""
    edges, res = _edges(interval, start, end, tz)
    if res is not None:
        return (await rollups(tx, inst, res, edges[0], edges[-1], memory)).fold(edges)
    trades = await _window_trades(tx, inst, edges)
    return CandleTable.of_candles(fold((trade_candle(t) for t in trades), edges))


async def rollups(
    tx: MarketReads,
    inst: InstrumentInfo,
    resolution: int,
    lo: int,
    hi: int,
    memory: RollupSource | None = None,
) -> CandleTable:
    """The stored rollups of `resolution` with lo <= start < hi as columns, through
    `memory` when given."""

    async def fetch(a: int, b: int) -> list[RollupRow]:
        return await tx.reads.rollup_table(inst.id, resolution, a, b)

    if memory is None:
        return CandleTable.of_rows(await fetch(lo, hi))
    return await memory.read(resolution, lo, hi, fetch)


def _edges(
    interval: Interval, start: int, end: int, tz: ZoneInfo | None
) -> tuple[list[int], int | None]:
    """The bucket edges of [start, end) and the rollup resolution that tiles them (None:
    fold from the trades), within the bounds of one request."""
    if start >= end:
        raise InvalidParameter("start must be before end", field="start")
    fixed = interval.fixed_us
    if fixed is not None and (end - start) // fixed > MAX_CANDLES:
        raise InvalidParameter(
            f"more than {MAX_CANDLES} candles: narrow start/end or widen the interval",
            field="interval",
        )
    edges = boundaries(start, end, interval, tz)
    if len(edges) > MAX_CANDLES + 1:
        raise InvalidParameter(f"more than {MAX_CANDLES} candles", field="interval")
    res = best_rollup(edges)
    span = edges[-1] - edges[0]
    if res is not None:
        if span // res > MAX_ROLLUP_ROWS:
            raise InvalidParameter(
                f"this window needs {span // res} stored candles, more than "
                f"{MAX_ROLLUP_ROWS}: narrow start/end, lower limit or use an interval "
                "of whole hours or days",
                field="interval",
            )
        return edges, res
    if span > MAX_TRADE_WINDOW:
        raise InvalidParameter(
            f"interval {interval.text} is not a whole number of minutes, so its candles "
            f"are folded from trades: over at most {MAX_TRADE_WINDOW // 60_000_000} minutes "
            "per request; narrow start/end or use whole minutes",
            field="interval",
        )
    return edges, None


async def _window_trades(tx: MarketReads, inst: InstrumentInfo, edges: list[int]) -> list[Trade]:
    trades = await tx.reads.trades(inst.id, edges[0], edges[-1] - 1, limit=MAX_TRADE_ROWS + 1)
    if len(trades) > MAX_TRADE_ROWS:
        raise InvalidParameter(
            f"more than {MAX_TRADE_ROWS} trades in this window: narrow start/end",
            field="start",
        )
    return trades


def max_buckets(interval: Interval, tz: ZoneInfo | None) -> int:
    """How many buckets of `interval` one request may fold (at least 1), from the bounds
    above: used to shorten a window whose far end the caller left open."""
    fixed = interval.fixed_us
    if fixed is not None and fixed % MINUTE:
        return max(1, MAX_TRADE_WINDOW // fixed)
    if fixed is not None and (fixed < DAY or fixed % DAY or tz is None):
        res = next(r for r in (DAY, HOUR, MINUTE) if fixed % r == 0)
        return max(1, MAX_ROLLUP_ROWS * res // fixed)
    # days, weeks and months of a time zone: its whole-hour offsets tile them with hours
    per_unit = {"d": DAY, "w": 7 * DAY, "M": 31 * DAY}[interval.unit] * interval.count
    res = DAY if tz is None else HOUR
    return max(1, MAX_ROLLUP_ROWS * res // per_unit)


async def coverage(tx: MarketReads, inst: InstrumentInfo) -> tuple[list[Range], list[Gap]]:
    ranges = await tx.reads.coverage(inst.id)
    return ranges, cov.gaps(ranges)
